"""Base-wise predictions of a Helixer model on an h5 file, optionally with overlapping windows.

Rows are predicted as upstream (>= 0.3.6) does, so the numbers are upstream's: a padded minus-strand
row is given to the model with its padding first, which makes every (sequence, strand) run of rows
one contiguous sequence. The predictions are then written with the padding **at the end of every row,
aligned with data/X** (upstream writes them padding-first, and HelixerPost then loses minus-strand
genes on short contigs, Helixer #197).

Overlap (upstream ``--overlap``, helixer/core/overlap.py): each run of rows of one sequence and strand
is cut into sub-batches of ``n`` rows (as many as give at most ``batch_size`` windows), each extended
by one row on both sides within the run; windows of length L move along the concatenated rows in steps
of ``offset`` (a last window is aligned to the end); each window's prediction loses (L - core) / 2 bases
at both ends, except at the run's two ends, and the kept parts are averaged; the extension is cut off.
Memory holds one sub-batch, never the genome's predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np


@dataclass(frozen=True)
class RowRun:
    """Consecutive rows of one sequence and strand; ``lengths`` are each row's real bases."""

    first: int
    lengths: tuple[int, ...]
    minus: bool


def row_runs(seqids: np.ndarray, start_ends: np.ndarray) -> Iterator[RowRun]:
    """Runs of consecutive rows sharing sequence id and strand (upstream's contiguous ranges)."""
    minus = start_ends[:, 0] > start_ends[:, 1]
    lengths = np.abs(start_ends[:, 1] - start_ends[:, 0])
    start = 0
    for i in range(1, len(seqids) + 1):
        if i == len(seqids) or seqids[i] != seqids[start] or minus[i] != minus[start]:
            yield RowRun(start, tuple(int(x) for x in lengths[start:i]), bool(minus[start]))
            start = i


def to_model_layout(rows: np.ndarray, lengths, minus: bool) -> np.ndarray:
    """Rows as upstream feeds them: a padded minus-strand row has its padding moved to the start."""
    if not minus:
        return rows
    out = rows.copy()
    width = rows.shape[1]
    for i, n in enumerate(lengths):
        if n < width:
            out[i] = np.concatenate([rows[i, n:], rows[i, :n]])
    return out


def to_file_layout(rows: np.ndarray, lengths, minus: bool) -> np.ndarray:
    """The inverse of :func:`to_model_layout`: padding at the end of every row, as data/X."""
    if not minus:
        return rows
    out = rows.copy()
    width = rows.shape[1]
    for i, n in enumerate(lengths):
        if n < width:
            out[i] = np.concatenate([rows[i, width - n:], rows[i, :width - n]])
    return out


def chunks_per_batch(length: int, offset: int, batch_size: int) -> int:
    """Most rows whose sliding windows fit in one batch: (n L - L) / offset + 1 <= batch_size."""
    return max(1, ((batch_size - 1) * offset + length) // length)


def window_starts(total: int, length: int, offset: int) -> list[int]:
    starts = list(range(0, total - length + 1, offset))
    if starts[-1] != total - length:
        starts.append(total - length)
    return starts


def overlap_average(window_preds: np.ndarray, starts: list[int], total: int, length: int, core: int) -> np.ndarray:
    """Average windows' predictions (W, L, C), each trimmed by (L - core) / 2 at both ends except the
    first window's start and the last window's end."""
    trim = (length - core) // 2
    acc = np.zeros((total, window_preds.shape[-1]), np.float64)
    count = np.zeros(total, np.int32)
    last = len(starts) - 1
    for i, (s, p) in enumerate(zip(starts, window_preds)):
        lo = trim if i > 0 else 0
        hi = length - trim if i < last else length
        acc[s + lo:s + hi] += p[lo:hi]
        count[s + lo:s + hi] += 1
    return acc / count[:, None]


def _run_model(net, inputs: list[np.ndarray], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Genic and phase predictions (N, L, 4) float32 of rows (N, L, ...) in batches."""
    n, length = inputs[0].shape[:2]
    genic = np.empty((n, length, 4), np.float32)
    phase = np.empty((n, length, 4), np.float32)
    for start in range(0, n, batch_size):
        part = [a[start:start + batch_size] for a in inputs]
        g, p = net.predict_on_batch(part if len(part) > 1 else part[0])
        genic[start:start + len(part[0])] = np.asarray(g).reshape(len(part[0]), length, 4)
        phase[start:start + len(part[0])] = np.asarray(p).reshape(len(part[0]), length, 4)
    return genic, phase


def predict_run(net, inputs: list[np.ndarray], batch_size: int, overlap: tuple[int, int] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of one run of rows (inputs in model layout: (R, L, ...) each), with or without overlap.

    ``overlap`` is (offset, core length).
    """
    if overlap is None:
        return _run_model(net, inputs, batch_size)
    offset, core = overlap
    rows, length = inputs[0].shape[:2]
    n = chunks_per_batch(length, offset, batch_size)
    genic = np.empty((rows, length, 4), np.float32)
    phase = np.empty((rows, length, 4), np.float32)
    for k in range(0, rows, n):
        lo, hi = max(k - 1, 0), min(k + n + 1, rows)  # one extra row each side, cut off afterwards
        total = (hi - lo) * length
        flat = [a[lo:hi].reshape(total, *a.shape[2:]) for a in inputs]
        starts = window_starts(total, length, offset)
        windows = [np.stack([f[s:s + length] for s in starts]) for f in flat]
        g, p = _run_model(net, windows, batch_size)
        keep = slice((k - lo) * length, (k - lo + min(n, rows - k)) * length)
        genic[k:k + n] = overlap_average(g, starts, total, length, core)[keep].reshape(-1, length, 4)
        phase[k:k + n] = overlap_average(p, starts, total, length, core)[keep].reshape(-1, length, 4)
    return genic, phase
