"""Training and validation batches streamed from Helixer h5 files, in bounded memory.

Upstream loads every training sample into RAM (blosc-compressed) and decodes batches in Python; here
only the row indices are held, and each batch's rows are read from the h5 files when it is needed,
one batch ahead on a background thread. Rows that cannot teach anything are skipped up front: rows
not annotated (``data/is_annotated`` false) and rows without a single valid base (``sample_weights``
all zero). Training batches are reshuffled every epoch from ``seed + epoch``.

Per-step weights as upstream (``HelixerSequence._generic_get_item``), for a step of ``pool`` bp::

    mask = all bases of the step have sample weight != 0
    cw   = sum of class_weights[c] over classes c present in the step       (1 when not given)
    tw   = sum of transition_weights[k] over transitions k in the step, 1 when none (1 when not given)
    weight = mask * cw * tw
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Iterator, Sequence

import h5py
import numpy as np

from .add_coverage import Column, column_identity, read_columns
from .errors import UserError
from .h5io import PSEUDOLABELS_ATTR, h5file, read_all
from .spec import Coverage

log = logging.getLogger("helixer_tools")

LABELS = ("data/X", "data/y", "data/phases", "data/sample_weights", "data/transitions")
SCAN_ROWS = 256


def normalise_coverage(counts: np.ndarray, norm: str) -> np.ndarray:
    """Coverage counts as the model reads them, float16 as upstream: ln(x + 1.1), x / 100, or x."""
    x = counts.astype(np.float32)
    if norm == "log":
        x = np.log(x + np.float32(1.1))
    elif norm == "linear":
        x = x / np.float32(100)
    return x.astype(np.float16)


@dataclass
class Part:
    """One h5 file and the rows of it that are used."""

    path: str
    file: h5py.File
    rows: np.ndarray
    n_rows: int
    length: int
    columns: list[Column] | None

    @property
    def pseudolabels(self) -> bool:
        """Labels that are a model's own gene models (helixer-select's output, or a split of it)."""
        return PSEUDOLABELS_ATTR in self.file.attrs


def _usable_rows(f: h5py.File, path: str) -> np.ndarray:
    sw = f["data/sample_weights"]
    n = sw.shape[0]
    keep = np.zeros(n, dtype=bool)
    for start in range(0, n, SCAN_ROWS):
        keep[start:start + SCAN_ROWS] = sw[start:start + SCAN_ROWS].any(axis=1)
    if "data/is_annotated" in f:
        keep &= read_all(f["data/is_annotated"]).astype(bool)
    return np.flatnonzero(keep)


def open_parts(paths: Sequence[str], role: str, coverage_prefix: str | None) -> list[Part]:
    """Open and check ``paths`` (``role``: training or validation); all must share one subsequence length."""
    parts = []
    for path in paths:
        try:
            f = h5file(path, "r")
        except FileNotFoundError:
            raise UserError(f"{path}: no such {role} file") from None
        except OSError:
            raise UserError(f"{path}: {role} file is not an HDF5 file") from None
        for name in LABELS:
            if name not in f:
                raise UserError(f"{path}: {role} file has no {name}; training needs labelled h5 files "
                                "(helixer-geenuff2h5 output)")
        n, length = f["data/X"].shape[:2]
        for name in LABELS[1:]:
            if f[name].shape[:2] != (n, length):
                raise UserError(f"{path}: {name} has shape {f[name].shape}, data/X has {f['data/X'].shape}")
        columns = None
        if coverage_prefix is not None:
            columns, cov, _ = read_columns(f, coverage_prefix)
            if cov is None:
                raise UserError(f"{path}: {role} file has no evaluation/{coverage_prefix}_coverage; the coverage "
                                "route needs RNA-seq coverage (helixer-add-coverage)")
        parts.append(Part(path, f, _usable_rows(f, path), n, length, columns))
    if not parts:
        raise UserError(f"no {role} files given")
    first = parts[0]
    for p in parts[1:]:
        if p.length != first.length:
            raise UserError(f"{p.path}: subsequence length {p.length} differs from {first.length} in {first.path}; "
                            "all training and validation files must be cut alike")
        if coverage_prefix is not None and len(p.columns) != len(first.columns):
            raise UserError(f"{p.path}: has {len(p.columns)} coverage column(s), {first.path} has "
                            f"{len(first.columns)}; every file needs coverage from the same BAMs in the same order")
    if not sum(len(p.rows) for p in parts):
        raise UserError(f"{role} set is empty: no annotated subsequence with a valid base in "
                        f"{', '.join(p.path for p in parts)}")
    return parts


def check_alike(training: list[Part], validation: list[Part]) -> None:
    """Training and validation files must have one subsequence length and the same coverage columns."""
    t, v = training[0], validation[0]
    if t.length != v.length:
        raise UserError(f"{v.path}: subsequence length {v.length} differs from {t.length} in {t.path}; all training "
                        "and validation files must be cut alike")
    if t.columns is not None:
        if len(t.columns) != len(v.columns):
            raise UserError(f"{v.path}: has {len(v.columns)} coverage column(s), {t.path} has {len(t.columns)}; "
                            "validation needs coverage from the same BAMs in the same order")
        for i, (a, b) in enumerate(zip(t.columns, v.columns), 1):
            if a.size is not None and b.size is not None and column_identity(a) != column_identity(b):
                log.warning("coverage column %d comes from %s in %s but from %s in %s", i, a.name, t.path,
                            b.name, v.path)


@dataclass
class Batch:
    inputs: list[np.ndarray]  # X (B, L, 4) float16 [, coverage (B, L, 2C) float16]
    y: np.ndarray  # (B, T, pool, 4) float32
    phases: np.ndarray  # (B, T, pool, 4) float32
    weights: np.ndarray  # (B, T) float32, the per-step weights of the loss
    step_mask: np.ndarray  # (B, T) bool, steps whose bases are all valid (what the metrics count)
    n: int  # rows that count; rows after them only fill the batch to its fixed size


def step_weights(sample_weights: np.ndarray, y: np.ndarray, transitions: np.ndarray, pool: int,
                 class_weights: np.ndarray | None, transition_weights: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-step loss weights and validity mask of a batch (see the module docstring)."""
    b, length = sample_weights.shape
    t = length // pool
    mask = (sample_weights.reshape(b, t, pool) != 0).all(axis=2)
    weights = mask.astype(np.float32)
    if class_weights is not None:
        present = y.reshape(b, t, pool, 4).any(axis=2)
        weights *= present.astype(np.float32) @ class_weights
    if transition_weights is not None:
        tw = transitions.reshape(b, t, pool, 6).max(axis=2).astype(np.float32) @ transition_weights
        tw[tw == 0] = 1.0
        weights *= tw
    return weights, mask


class BatchStream:
    """Batches over the usable rows of some h5 files; ``epoch(e)`` yields one epoch's batches."""

    def __init__(self, parts: list[Part], batch_size: int, pool: int, coverage: Coverage | None = None,
                 class_weights: Sequence[float] | None = None, transition_weights: Sequence[float] | None = None,
                 shuffle: bool = False, seed: int = 0):
        self.parts, self.batch_size, self.pool, self.coverage = parts, batch_size, pool, coverage
        self.class_weights = None if class_weights is None else np.asarray(class_weights, np.float32)
        self.transition_weights = None if transition_weights is None else np.asarray(transition_weights, np.float32)
        self.shuffle, self.seed = shuffle, seed
        self.index = np.concatenate([np.stack([np.full(len(p.rows), i), p.rows], axis=1)
                                     for i, p in enumerate(parts)]).astype(np.int64)
        self.length = parts[0].length
        if self.length % pool:
            raise UserError(f"{parts[0].path}: subsequence length {self.length} is not a multiple of the model's "
                            f"pool size {pool}")

    @property
    def n_rows(self) -> int:
        return len(self.index)

    def __len__(self) -> int:
        return -(-self.n_rows // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return self.index
        return self.index[np.random.default_rng(self.seed + epoch).permutation(self.n_rows)]

    def epoch(self, epoch: int = 0) -> Iterator[Batch]:
        """One epoch's batches, all of ``batch_size`` rows so the compiled model never sees a new shape.

        A short last batch is filled with rows from the start of the epoch when shuffling (training:
        they are trained on again, as any row), and otherwise with rows that are marked not to count.
        """
        order = self.order(epoch)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            n = len(rows)
            if n < self.batch_size:
                rows = np.concatenate([rows, np.resize(order, (self.batch_size - n, 2))])
                if self.shuffle:
                    n = self.batch_size
            yield self.read(rows, n)

    def read(self, rows: np.ndarray, n: int | None = None) -> Batch:
        b, length, pool = len(rows), self.length, self.pool
        x = np.empty((b, length, 4), np.float16)
        y = np.empty((b, length, 4), np.int8)
        phases = np.empty((b, length, 4), np.int8)
        sw = np.empty((b, length), np.int8)
        tr = np.empty((b, length, 6), np.int8)
        cov = None
        if self.coverage is not None:
            c = self.coverage.channels
            cov = np.empty((b, length, 2 * c), np.float32)
        for i, (part_i, row) in enumerate(rows):
            f = self.parts[part_i].file
            f["data/X"].read_direct(x, np.s_[row], np.s_[i])
            f["data/y"].read_direct(y, np.s_[row], np.s_[i])
            f["data/phases"].read_direct(phases, np.s_[row], np.s_[i])
            f["data/sample_weights"].read_direct(sw, np.s_[row], np.s_[i])
            f["data/transitions"].read_direct(tr, np.s_[row], np.s_[i])
            if cov is not None:
                prefix = self.coverage.prefix
                cov[i, :, :c] = f[f"evaluation/{prefix}_coverage"][row]
                cov[i, :, c:] = f[f"evaluation/{prefix}_spliced_coverage"][row]
        weights, mask = step_weights(sw, y, tr, pool, self.class_weights, self.transition_weights)
        n = b if n is None else n
        weights[n:] = 0
        mask[n:] = False
        t = length // pool
        inputs = [x] if cov is None else [x, normalise_coverage(cov, self.coverage.norm)]
        return Batch(inputs, y.reshape(b, t, pool, 4).astype(np.float32),
                     phases.reshape(b, t, pool, 4).astype(np.float32), weights, mask, n)

    def close(self) -> None:
        for p in self.parts:
            p.file.close()


def prefetch(items: Iterator, depth: int = 2) -> Iterator:
    """Produce ``items`` on a background thread, ``depth`` ahead (reading overlaps the model's work)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as e:  # handed to the consumer
            q.put(e)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
