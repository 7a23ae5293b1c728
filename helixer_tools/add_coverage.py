"""Helixer h5 + sorted, indexed RNA-seq BAMs -> a new h5 with coverage tracks.

The output holds everything of the input plus ``evaluation/{prefix}_coverage`` and
``evaluation/{prefix}_spliced_coverage``: (N, L, columns) int32, one column per BAM, -1 on padding,
minus-strand rows reversed like ``data/X``. Coverage already in the input under the same prefix is
kept and the new BAMs are appended as further columns (e.g. libraries of another strandedness).

Which BAM made which column is recorded in the file (name, size, header checksum, strandedness,
reads counted), as upstream's ``evaluation/{prefix}_meta/bam_files`` and, in full, as the JSON
attribute ``helixer_tools_columns`` of the coverage dataset; training and inference check it.

Coverage is counted per region of about ``REGION_BP`` (see ``coverage.count_region``), regions and
BAMs in parallel, in bounded memory; short sequences that follow each other in the BAM (a draft
assembly's contigs) are counted together, up to ``WINDOW_BP`` at a time, in one pass through the BAM
(``coverage.count_sequences``). When the input has labels (``data/y``), the share of coverage on the
annotated strand is reported for each BAM, and a strandedness that contradicts the data is a warning.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .bam import BamInfo, inspect, read_index
from .coverage import STRANDEDNESS, TRACKS, RegionCounts, count_region, count_sequences
from .errors import UserError
from .h5io import (
    DEFAULT_GZIP_LEVEL, Encoder, H5Writer, RowDataset, RowsOf, copy_dataset, grouped, h5file, read_all, rows_by_sequence,
    run_ordered,
)
from .progress import Progress

log = logging.getLogger("helixer_tools")

REGION_BP = 4_000_000  # counted independently, in parallel
WINDOW_BP = 500_000  # coverage is materialised this many bp at a time
CHECK_EVERY = 8  # strand agreement is measured on every 8th subsequence ...
CHECK_ROWS = 4096  # ... or fewer, so that about this many are read at most
COLUMNS_ATTR = "helixer_tools_columns"


@dataclass
class Column:
    """One coverage column: the BAM it came from and how it was counted."""

    name: str
    path: str
    size: int | None
    header_md5: str | None
    strandedness: str | None
    reads: int | None = None
    sense_fraction: float | None = None  # coverage on the annotated strand / on either strand, genic bases


def column_identity(col: Column | dict) -> tuple:
    """What makes two coverage columns the same library: the BAM (name, size, header) and strandedness."""
    if isinstance(col, dict):
        return (col.get("name"), col.get("size"), col.get("header_md5"), col.get("strandedness"))
    return (col.name, col.size, col.header_md5, col.strandedness)


@dataclass
class _Tally:
    reads: int = 0
    sense: int = 0
    antisense: int = 0


def read_columns(src: h5py.File, prefix: str) -> tuple[list[Column], h5py.Dataset | None, h5py.Dataset | None]:
    """The coverage columns of ``src`` (which BAM made each) and its two coverage datasets, or ([], None, None)."""
    cov_name, spl_name = f"evaluation/{prefix}_coverage", f"evaluation/{prefix}_spliced_coverage"
    cov, spl = src.get(cov_name), src.get(spl_name)
    if cov is None and spl is None:
        return [], None, None
    if cov is None or spl is None or cov.shape != spl.shape:
        raise UserError(f"{src.filename}: {cov_name} and {spl_name} do not match; cannot append to them")
    if COLUMNS_ATTR in cov.attrs:
        columns = [Column(**c) for c in json.loads(cov.attrs[COLUMNS_ATTR])]
    else:  # made by upstream: only the paths are known
        paths = [p.decode() for p in read_all(src[f"evaluation/{prefix}_meta/bam_files"])] \
            if f"evaluation/{prefix}_meta/bam_files" in src else [""] * cov.shape[2]
        columns = [Column(os.path.basename(p), p, None, None, None) for p in paths]
    if len(columns) != cov.shape[2]:
        raise UserError(f"{src.filename}: {cov_name} has {cov.shape[2]} columns but describes {len(columns)} BAMs")
    return columns, cov, spl


def _check_bams(infos: list[BamInfo], existing: list[Column], seqs: dict[str, RowsOf], h5_path: str) -> None:
    seen: dict[tuple, str] = {}
    for col in existing:
        if col.size is not None:
            seen[(col.size, col.header_md5)] = f"column {existing.index(col) + 1} of {h5_path} ({col.name})"
        seen[("path", os.path.realpath(col.path))] = f"column {existing.index(col) + 1} of {h5_path} ({col.name})"
    for info in infos:
        for key in ((info.size, info.header_md5), ("path", os.path.realpath(info.path))):
            if key in seen:
                raise UserError(f"{info.path}: the same BAM as {seen[key]}; each BAM may give one column")
        seen[(info.size, info.header_md5)] = seen[("path", os.path.realpath(info.path))] = info.path
        _check_names(info, seqs, h5_path)


def _check_names(info: BamInfo, seqs: dict[str, RowsOf], h5_path: str) -> None:
    """The BAM must have every sequence of the genome, at the same length: one line naming the first
    mismatches, and the likely cause when the names differ only in case or a 'chr' prefix."""
    lengths = dict(zip(info.references, info.lengths))
    missing = [s for s in seqs if s not in lengths]
    if missing:
        def key(name: str) -> str:
            name = name.lower()
            return name[3:] if name.startswith("chr") else name

        theirs = {key(r): r for r in info.references}
        alike = [(s, theirs[key(s)]) for s in missing if key(s) in theirs]
        hint = (f"the names differ: {', '.join(f'{a} vs {b}' for a, b in alike[:3])}; rename the contigs of one "
                "of them" if alike else f"it has {', '.join(info.references[:3])}{', ...' if len(info.references) > 3 else ''}"
                "; was it aligned to another assembly?")
        raise UserError(f"{info.path}: {len(missing)} of the {len(seqs)} sequences of {h5_path} are not among its "
                        f"contigs ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); {hint}")
    other = [(s, lengths[s], q.length) for s, q in seqs.items() if lengths[s] != q.length]
    if other:
        shown = ", ".join(f"{s} {a} vs {b} bp" for s, a, b in other[:3])
        raise UserError(f"{info.path}: {len(other)} contig(s) have other lengths than in {h5_path} ({shown}"
                        f"{', ...' if len(other) > 3 else ''}); was it aligned to another assembly version?")


@dataclass(frozen=True)
class _Part:
    """Bases [r0, r1) of one sequence."""

    ref_id: int
    r0: int
    r1: int
    seq: RowsOf


@dataclass(frozen=True)
class _Region:
    """A picklable unit of work (threads or processes) for one BAM: a region of a long sequence, or several
    whole short sequences that follow each other in the BAM, read in one pass."""

    bam: str
    voffset: int | None  # where the first part's alignments start; None: no alignment overlaps any part
    parts: tuple[_Part, ...]
    L: int
    strandedness: str
    encoders: tuple[Encoder, Encoder]  # coverage, spliced coverage
    labels: str | None  # h5 with data/y, for the strand check
    check_every: int  # rows whose strand agreement is measured: every check_every-th


def _windows(task: _Region, window: int, counts: RegionCounts):
    """(part, window start, coverage) over every part, zero coverage where no alignment lies."""
    if task.voffset is None:
        for i, p in enumerate(task.parts):
            for start in range(p.r0, p.r1, window):
                yield i, start, np.zeros((TRACKS, min(window, p.r1 - start)), dtype=np.int32)
    elif len(task.parts) == 1:
        p = task.parts[0]
        for start, cov in count_region(task.bam, p.ref_id, task.voffset, p.r0, p.r1, window, task.strandedness, counts):
            yield 0, start, cov
    else:  # whole short sequences, consecutive in the BAM: counted together, at most a window's worth
        cov = count_sequences(task.bam, task.voffset, task.parts[0].ref_id, [p.r1 for p in task.parts],
                              task.strandedness, counts)
        at = 0
        for i, p in enumerate(task.parts):
            yield i, 0, cov[:, at: at + p.r1]
            at += p.r1


def _count_region(task: _Region) -> tuple[list[tuple[int, int, object]], tuple[int, int, int]]:
    """Coverage rows of a task, encoded: ([(0 coverage | 1 spliced, row, payload)], (reads, sense, antisense))."""
    L = task.L
    writes: list[tuple[int, int, object]] = []
    counts = RegionCounts()
    window = max(L, WINDOW_BP // L * L)
    sense = antisense = 0
    y = _labels(task.labels) if task.labels and task.voffset is not None else None
    for i, start, cov in _windows(task, window, counts):
        seq = task.parts[i].seq
        for k in range(start // L, -(-(start + cov.shape[1]) // L)):
            a, b = k * L - start, min((k + 1) * L, seq.length) - start
            for strand, rows in ((0, seq.plus), (1, seq.minus)):
                row = int(rows[k])
                for kind, encoder in enumerate(task.encoders):
                    values = np.full(L, -1, dtype=np.int32)
                    part = cov[2 * kind + strand, a:b]
                    values[: b - a] = part if strand == 0 else part[::-1]
                    writes.append((kind, row, encoder.encode(values)))
            if y is not None and int(seq.plus[k]) % task.check_every == 0:  # a sample of rows, across contigs
                genic_plus = y[int(seq.plus[k]), : b - a, 0] == 0
                genic_minus = (y[int(seq.minus[k]), : b - a, 0] == 0)[::-1]
                only_plus, only_minus = genic_plus & ~genic_minus, genic_minus & ~genic_plus
                plus_cov, minus_cov = cov[0, a:b].astype(np.int64), cov[1, a:b].astype(np.int64)
                sense += int(plus_cov[only_plus].sum() + minus_cov[only_minus].sum())
                antisense += int(minus_cov[only_plus].sum() + plus_cov[only_minus].sum())
    return writes, (counts.reads, sense, antisense)


_LABELS: dict[str, h5py.Dataset] = {}  # per process: a draft assembly has a region per contig


def _labels(path: str) -> h5py.Dataset:
    """``data/y`` of the input, opened once per process."""
    if path not in _LABELS:
        _LABELS[path] = h5file(path, "r")["data/y"]
    return _LABELS[path]


def _close_labels() -> None:
    for y in _LABELS.values():
        y.file.close()
    _LABELS.clear()


def _noop() -> None:
    return None


def _strand_verdict(col: Column, tally: _Tally) -> None:
    total = tally.sense + tally.antisense
    col.sense_fraction = round(tally.sense / total, 4) if total else None
    if col.sense_fraction is None:
        return
    pct = 100 * col.sense_fraction
    log.info("%s: %.1f%% of the coverage on annotated genes is on their strand", col.name, pct)
    if col.strandedness == "unstranded":
        return
    other = "--first-read-is-sense-strand" if col.strandedness == "second" else "--second-read-is-sense-strand"
    if col.sense_fraction < 0.25:
        log.warning("%s: only %.1f%% of the coverage is on the annotated strand: the library looks like %s, not "
                    "the strandedness given", col.name, pct, other)
    elif col.sense_fraction < 0.75:
        log.warning("%s: %.1f%% of the coverage is on the annotated strand: the library looks unstranded "
                    "(--unstranded)", col.name, pct)


def add_coverage(
    h5_in: str | Path,
    bams: Sequence[str | Path],
    output: str | Path,
    strandedness: str,
    prefix: str = "rnaseq",
    species: str | None = None,
    bam_indexes: Sequence[str | Path] | None = None,
    compression: str = "gzip",
    compression_level: int = DEFAULT_GZIP_LEVEL,
    threads: int = 1,
    argv: Sequence[str] = (),
    progress: bool = True,
    region_bp: int = REGION_BP,
) -> list[Column]:
    """Write ``output``; returns the description of every coverage column (old and new)."""
    if strandedness not in STRANDEDNESS:
        raise UserError(f"strandedness {strandedness!r} is not one of {', '.join(STRANDEDNESS)}")
    if not bams:
        raise UserError("no BAM files given")
    if not prefix or "/" in prefix:
        raise UserError(f"dataset prefix {prefix!r} must be a non-empty name without '/'")
    # Counting is pure-Python-heavy (the GIL serialises threads): regions run in worker processes,
    # forked now, before this process opens any HDF5 file, and they only read files they open themselves.
    pool = None
    if threads > 1:
        pool = ProcessPoolExecutor(max_workers=threads, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_signals)
        pool.submit(_noop).result()
    try:
        return _add_coverage(h5_in, bams, output, strandedness, prefix, species, bam_indexes, compression,
                             compression_level, threads, argv, progress, region_bp, pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _close_labels()


def _worker_signals() -> None:
    """Workers leave Ctrl-C and SIGTERM to the parent, which stops the pool and removes its partial output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _add_coverage(h5_in, bams, output, strandedness, prefix, species, bam_indexes, compression, compression_level,
                  threads, argv, progress, region_bp, pool) -> list[Column]:
    try:
        src = h5file(h5_in, "r")
    except OSError as e:
        raise UserError(f"{h5_in}: cannot open as h5: {e}") from None
    with src:
        for key in ("data/X", "data/seqids", "data/start_ends", "data/species"):
            if key not in src:
                raise UserError(f"{h5_in}: has no {key} (expected the output of helixer-fasta2h5 or helixer-geenuff2h5)")
        N, L = src["data/X"].shape[:2]
        if species is not None:
            found = {s.decode() for s in np.unique(read_all(src["data/species"]))}
            if found != {species}:
                raise UserError(f"{h5_in}: holds species {', '.join(sorted(found))}, not {species!r}")
        seqs = rows_by_sequence(str(h5_in), read_all(src["data/seqids"]), read_all(src["data/start_ends"]), L)
        index_paths = list(bam_indexes) if bam_indexes else [None] * len(bams)
        if len(index_paths) != len(bams):
            raise UserError(f"{len(index_paths)} BAM indexes given for {len(bams)} BAMs")
        infos = [inspect(b, i) for b, i in zip(bams, index_paths)]
        indexes = [read_index(info.index, info.path, info.lengths) for info in infos]
        existing, old_cov, old_spl = read_columns(src, prefix)
        _check_bams(infos, existing, seqs, str(h5_in))
        n_old, n_new = len(existing), len(infos)
        columns = existing + [Column(i.name, i.path, i.size, i.header_md5, strandedness) for i in infos]
        log.info("%s: %d rows of %d bp; %d BAM(s) to add as coverage columns %d-%d (%s)", h5_in, N, L, n_new,
                 n_old + 1, n_old + n_new, strandedness)

        replaced = {f"evaluation/{prefix}_coverage", f"evaluation/{prefix}_spliced_coverage",
                    f"evaluation/{prefix}_meta/bam_files"}
        with H5Writer(output, compression, compression_level) as out:
            _copy_except(src, out.file, replaced)
            shape = (N, L, n_old + n_new)
            datasets = []
            for name, old in ((f"evaluation/{prefix}_coverage", old_cov), (f"evaluation/{prefix}_spliced_coverage", old_spl)):
                if old is not None:  # appending: keep the old columns' storage so their chunks copy as they are
                    ds = copy_dataset(old, out.file, name, shape=shape)
                else:
                    ds = out.create(name, shape, np.int32, chunks=(1, L, 1), maxshape=(None, L, None), fillvalue=-1)
                ds.attrs[COLUMNS_ATTR] = "[]"
                datasets.append(RowDataset(ds, compression_level))
            labels = str(h5_in) if "data/y" in src else None
            tallies = [_Tally() for _ in infos]
            encoders = tuple(d.encoder for d in datasets)
            targets = [tuple(d.column(n_old + c) for d in datasets) for c in range(n_new)]

            window = max(L, WINDOW_BP // L * L)
            check_every = max(CHECK_EVERY, N // CHECK_ROWS)

            def jobs():
                step = max(L, region_bp // L * L)
                for c, (info, index) in enumerate(zip(infos, indexes)):
                    ref_ids = {name: i for i, name in enumerate(info.references)}

                    def task(parts):
                        voffset = next((v for p in parts if (v := index.first_offset(p.ref_id, p.r0, p.r1)) is not None),
                                       None)
                        return (partial(_tagged, c, _Region(info.path, voffset, tuple(parts), L, strandedness, encoders,
                                                            labels, check_every)), sum(p.r1 - p.r0 for p in parts))

                    short = []  # whole sequences of at most a window, grouped by BAM order below
                    for seq in seqs.values():
                        ref_id = ref_ids[seq.seqid]
                        if seq.length <= window:
                            short.append(_Part(ref_id, 0, seq.length, seq))
                            continue
                        for r0 in range(0, seq.length, step):
                            yield task([_Part(ref_id, r0, min(r0 + step, seq.length), seq)])
                    for group in grouped(sorted(short, key=lambda p: p.ref_id), lambda p: p.r1, window,
                                         joins=lambda a, b: b.ref_id == a.ref_id + 1):  # one pass through the BAM
                        yield task(group)

            def write(result):
                c, (writes, (reads, sense, antisense)) = result
                for kind, row, payload in writes:
                    targets[c][kind].write(row, payload)
                tallies[c].reads += reads
                tallies[c].sense += sense
                tallies[c].antisense += antisense

            total = n_new * sum(s.length for s in seqs.values())
            with Progress(total, "add-coverage", enabled=progress) as bar:
                run_ordered(jobs(), threads, bar.update, write=write, executor=pool)

            for col, tally in zip(columns[n_old:], tallies):
                col.reads = tally.reads
                if tally.reads:
                    log.info("%s: %d alignments counted", col.name, tally.reads)
                else:
                    log.warning("%s: no alignments on the genome's sequences: its coverage column is all zero",
                                col.name)
                if labels is not None:
                    _strand_verdict(col, tally)
            described = json.dumps([asdict(c) for c in columns])
            for ds in datasets:
                ds.dataset.attrs[COLUMNS_ATTR] = described
                ds.dataset.attrs["strandedness"] = json.dumps([c.strandedness for c in columns])
            out.create(f"evaluation/{prefix}_meta/bam_files", (len(columns),), "S512",
                       np.array([c.path.encode()[:512] for c in columns], dtype="S512"))
            out.provenance("helixer-add-coverage", argv, {"h5": str(h5_in)} | {f"bam{i + 1}": str(b) for i, b in enumerate(bams)})
            out.file.attrs["input_path"] = str(h5_in)
    return columns


def _copy_except(src: h5py.Group, dst: h5py.Group, replaced: set[str]) -> None:
    """Copy a file's objects as they are (HDF5 copies compressed chunks itself), except ``replaced``."""
    for key, value in src.attrs.items():
        dst.attrs[key] = value
    for name, obj in src.items():
        path = obj.name.lstrip("/")
        if path in replaced:
            continue
        if any(r.startswith(path + "/") for r in replaced):
            _copy_except(obj, dst.require_group(name), replaced)
        else:
            src.copy(obj, dst, name)


def _tagged(column: int, task: _Region):
    return column, _count_region(task)
