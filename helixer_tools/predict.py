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

import json
import logging
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import model as M
from .add_coverage import column_identity, read_columns
from .errors import UserError
from .h5io import H5Writer, digests_of, grouped, h5file, read_all, write_digests
from .progress import Progress
from .spec import with_coverage_norm
from .training_data import normalise_coverage

log = logging.getLogger("helixer_tools")

BATCH_BASES = 32 * 21384  # upstream's default batch: 32 subsequences of its default length


def default_batch_size(length: int) -> int:
    """Subsequences per model call when none is given: as many as hold upstream's default batch of bases
    (32 at 21384 bp; 337 at 2025 bp, where batches of 32 would make model calls ten times as many)."""
    return max(1, BATCH_BASES // length)


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


def _roll_padded(rows: np.ndarray, lengths, minus: bool, shift) -> np.ndarray:
    """Roll each padded minus-strand row by ``shift(real bases, row width)``; other rows as they are."""
    if not minus:
        return rows
    out = rows.copy()
    width = rows.shape[1]
    for i, n in enumerate(lengths):
        if n < width:
            out[i] = np.roll(rows[i], shift(n, width), axis=0)
    return out


def to_model_layout(rows: np.ndarray, lengths, minus: bool) -> np.ndarray:
    """Rows as upstream feeds them: a padded minus-strand row has its padding moved to the start."""
    return _roll_padded(rows, lengths, minus, lambda n, width: width - n)


def to_file_layout(rows: np.ndarray, lengths, minus: bool) -> np.ndarray:
    """The inverse of :func:`to_model_layout`: padding at the end of every row, as data/X."""
    return _roll_padded(rows, lengths, minus, lambda n, width: n)


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
        part = [a[start:start + batch_size] for a in inputs]  # partial batches need no padding: Keras' predict
        k = len(part[0])                                       # function stops retracing after two batch sizes
        g, p = net.predict_on_batch(part if len(part) > 1 else part[0])
        genic[start:start + k] = np.asarray(g).reshape(k, length, 4)
        phase[start:start + k] = np.asarray(p).reshape(k, length, 4)
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
        [(g, p)] = overlap_pieces(net, [[a[lo:hi] for a in inputs]], offset, core)
        keep = slice(k - lo, k - lo + min(n, rows - k))
        genic[k:k + n], phase[k:k + n] = g[keep], p[keep]
    return genic, phase


def overlap_pieces(net, pieces: list[list[np.ndarray]], offset: int, core: int
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Overlapping-window predictions of pieces of runs (each its inputs in model layout, (R, L, ...), rows of
    one sequence and strand), the windows of all pieces in one model call (as upstream makes one call per
    piece; a draft assembly's one-row contigs would otherwise cost a call each). Returns each piece's
    averaged genic and phase predictions, (R, L, 4) float32."""
    length = pieces[0][0].shape[1]
    made = []
    for inputs in pieces:
        total = inputs[0].shape[0] * length
        starts = window_starts(total, length, offset)
        flat = [a.reshape(total, *a.shape[2:]) for a in inputs]
        made.append((total, starts, [np.stack([f[s:s + length] for s in starts]) for f in flat]))
    windows = [np.concatenate(parts) for parts in zip(*(w for _, _, w in made))]
    g, p = _run_model(net, windows, len(windows[0]))
    out, i = [], 0
    for total, starts, _ in made:
        w = len(starts)
        out.append((overlap_average(g[i:i + w], starts, total, length, core).reshape(-1, length, 4),
                    overlap_average(p[i:i + w], starts, total, length, core).reshape(-1, length, 4)))
        i += w
    return out


# ------------------------------------------------------------------------------------------ the tool

def _coverage_inputs(spec, f, path: str):
    """The coverage datasets a coverage model needs from ``f``, checked against what it was trained on."""
    cov = spec.coverage
    columns, cov_ds, spl_ds = read_columns(f, cov.prefix)
    if cov_ds is None:
        raise UserError(f"{path}: has no evaluation/{cov.prefix}_coverage; the model reads RNA-seq coverage "
                        f"from {cov.channels} BAM(s) (add it with helixer-add-coverage, same BAMs, same order)")
    if len(columns) != cov.channels:
        raise UserError(f"{path}: has {len(columns)} coverage column(s); the model was trained on {cov.channels}"
                        + (f" ({', '.join(c['name'] for c in cov.columns)})" if cov.columns else ""))
    # Another library in a column is expected (another genome has other BAMs; so may a new library of this
    # one): said, not refused. Refused: a library the model was trained with in another column (the order
    # of the BAMs is wrong), and another strandedness than the model learned from.
    trained_ids = [column_identity(c) for c in cov.columns]
    for i, (trained, given) in enumerate(zip(cov.columns, columns), 1):
        if trained.get("size") is None or given.size is None or column_identity(trained) == column_identity(given):
            continue
        if column_identity(given) in trained_ids:
            raise UserError(f"{path}: coverage column {i} comes from {given.name}, which the model was trained with "
                            f"as column {trained_ids.index(column_identity(given)) + 1}; give the BAMs in the order "
                            "of training (" + ", ".join(c["name"] for c in cov.columns) + ")")
        if given.strandedness != trained.get("strandedness"):
            raise UserError(f"{path}: coverage column {i} ({given.name}) is {given.strandedness}, the model was "
                            f"trained with {trained.get('strandedness')} coverage there ({trained['name']}); "
                            "add coverage of a library of that strandedness")
        log.info("%s: coverage column %d comes from %s, the model was trained with %s (another library, e.g. of "
                 "another genome; same strandedness)", path, i, given.name, trained["name"])
    if cov.columns and any(c.size is None for c in columns):
        log.warning(
            "%s: its coverage columns do not record their BAMs; cannot check they are the ones the model was "
            "trained on", path)
    return cov_ds, spl_ds


def _batches(runs: Iterator[RowRun], batch_size: int) -> Iterator[list[tuple[RowRun, int, int]]]:
    """(run, first row, rows) pieces grouped into batches of at most ``batch_size`` rows."""
    pieces = ((run, k, min(batch_size, len(run.lengths) - k)) for run in runs
              for k in range(0, len(run.lengths), batch_size))
    return grouped(pieces, lambda piece: piece[2], batch_size)


def predict_h5(model_path: str, h5_path: str, output: str, overlap: bool = False, offset: int | None = None,
               core: int | None = None, batch_size: int | None = None, coverage_norm: str | None = None,
               compression: str = "gzip", compression_level: int = 4, threads: int = 1,
               argv: list[str] | None = None, progress: bool = True) -> dict:
    """Write ``predictions`` and ``predictions_phase`` (N, L, 4) float16 of ``model_path`` on ``h5_path``."""
    net, spec = M.load(model_path)
    if spec.coverage is not None:  # --coverage-norm is ignored for models without coverage
        spec = with_coverage_norm(spec, coverage_norm, model_path)
    try:
        f = h5file(h5_path, "r")
    except OSError:
        raise UserError(f"{h5_path}: not an HDF5 file") from None
    with f:
        if "data/X" not in f:
            raise UserError(f"{h5_path}: has no data/X (make it with helixer-fasta2h5)")
        n_rows, length = f["data/X"].shape[:2]
        pool = spec.trunk.pool_size
        if length % pool:
            raise UserError(f"{h5_path}: subsequence length {length} is not a multiple of the model's pool size {pool}")
        offset = length // 2 if offset is None else offset
        batch_size = default_batch_size(length) if batch_size is None else batch_size
        if core is None:  # 3/4 of the length as upstream, less 1 bp where the two trimmed ends would differ
            core = int(length * 3 / 4)
            core -= (length - core) % 2
        if overlap and not (0 < offset <= core <= length):
            raise UserError(f"overlap needs 0 < offset ({offset}) <= core length ({core}) <= subsequence length "
                            f"({length})")
        if overlap and (length - core) % 2:
            raise UserError(f"subsequence length minus core length ({length - core}) must be even")
        cov_ds = spl_ds = None
        if spec.coverage is not None:
            cov_ds, spl_ds = _coverage_inputs(spec, f, h5_path)
        seqids, start_ends = read_all(f["data/seqids"]), read_all(f["data/start_ends"])
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:
            pass
        # Not XLA-compiled: for inference XLA gains little per batch on CPU (0.23 vs 0.28 s for the tiny model,
        # 7.45 vs 7.39 s for the released size, batch 32) but costs a compilation per batch shape (1-2 s each;
        # docs/benchmarks.md), and on a GPU Keras' cuDNN LSTM kernels are the fast path anyway.
        net.compile(jit_compile=False)

        def read(run: RowRun, lo: int, hi: int) -> list[np.ndarray]:
            rows = slice(run.first + lo, run.first + hi)
            lengths = run.lengths[lo:hi]
            inputs = [f["data/X"][rows]]
            if cov_ds is not None:
                inputs.append(np.concatenate([cov_ds[rows], spl_ds[rows]], axis=-1))
            inputs = [to_model_layout(a, lengths, run.minus) for a in inputs]
            if cov_ds is not None:
                inputs[1] = normalise_coverage(inputs[1], spec.coverage.norm)
            return inputs

        with H5Writer(output, compression, compression_level) as out, \
                Progress(n_rows, "predict", unit="subsequence", enabled=progress) as bar:
            genic_ds = out.create("predictions", (n_rows, length, 4), np.float16)
            phase_ds = out.create("predictions_phase", (n_rows, length, 4), np.float16)
            def write(run: RowRun, k: int, m: int, g: np.ndarray, p: np.ndarray) -> None:
                lengths = run.lengths[k:k + m]
                rows_out = slice(run.first + k, run.first + k + m)
                genic_ds[rows_out] = to_file_layout(g, lengths, run.minus).astype(np.float16)
                phase_ds[rows_out] = to_file_layout(p, lengths, run.minus).astype(np.float16)
                bar.update(m)

            if overlap:  # overlapping windows stay within a run (a sequence and strand); pieces of runs share calls
                step = chunks_per_batch(length, offset, batch_size)
                budget = len(window_starts((step + 2) * length, length, offset))  # windows of one full piece

                def pieces():
                    for run in row_runs(seqids, start_ends):
                        rows = len(run.lengths)
                        for k in range(0, rows, step):
                            lo, hi = max(k - 1, 0), min(k + step + 1, rows)
                            yield run, k, min(step, rows - k), lo, hi, len(window_starts((hi - lo) * length, length,
                                                                                          offset))

                def predict_group(group) -> None:
                    results = overlap_pieces(net, [read(run, lo, hi) for run, _, _, lo, hi, _ in group], offset, core)
                    for (run, k, m, lo, _, _), (g, p) in zip(group, results):
                        write(run, k, m, g[k - lo:k - lo + m], p[k - lo:k - lo + m])

                for group in grouped(pieces(), lambda piece: piece[-1], budget):
                    predict_group(group)
            else:  # rows of several runs share a batch: a draft assembly's contigs are one or two rows each
                for pieces in _batches(row_runs(seqids, start_ends), batch_size):
                    inputs = [np.concatenate(parts) for parts in zip(*(read(run, k, k + m) for run, k, m in pieces))]
                    g, p = predict_run(net, inputs, batch_size)
                    i = 0
                    for run, k, m in pieces:
                        write(run, k, m, g[i:i + m], p[i:i + m])
                        i += m
            attrs = out.file.attrs
            attrs["model_md5sum"] = M.file_md5(model_path)
            attrs["model_path"] = os.path.abspath(model_path)
            attrs["test_data_path"] = os.path.abspath(h5_path)
            attrs["n_bases_removed"] = "0"
            attrs["model_config"] = spec.to_json()
            attrs["padding"] = "end"  # upstream >= 0.3.6 puts the padding of minus-strand rows first
            attrs["overlap"] = json.dumps({"offset": offset, "core_length": core} if overlap else None)
            for name in ("data/seqids", "data/start_ends", "data/species"):  # which rows these are
                if name in f:
                    out.create(name, f[name].shape, f[name].dtype, data=read_all(f[name]))
            if digests := digests_of(f):  # and of which genome
                write_digests(out.file, digests)
            out.provenance("helixer-predict", argv or [], {"model": model_path, "h5": h5_path})
    return {"rows": n_rows, "length": length}
