"""RNA-seq coverage of a region of a contig, counted as upstream add_ngs_coverage.py counts it.

- skipped: unmapped, secondary and QC-failed alignments (duplicates, supplementary alignments and low
  mapping quality are kept, as upstream); each mate counts on its own;
- coverage: bases of M, = and X operations; spliced coverage: bases of N and D operations;
- strand of the transcript: for ``second`` (dUTP, the common case) single-end reads and first mates
  are flipped, second mates kept; ``first`` is the opposite; ``unstranded`` keeps the alignment strand
  (so unstranded coverage is split between the two strand tracks by alignment direction, as upstream).

A region [r0, r1) is counted from the alignments that may overlap it (found with the BAM index);
blocks that started before r0 only set the coverage at r0, blocks past r1 belong to the next region.
So regions are independent. Coverage is returned window by window, in bounded memory. Short whole
sequences that follow each other in the BAM (a draft assembly's contigs) are counted together in one
pass (``count_sequences``), laid end to end, each block clipped to its own sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .bam import (
    FLAG_PAIRED, FLAG_QCFAIL, FLAG_READ1, FLAG_READ2, FLAG_REVERSE, FLAG_SECONDARY, FLAG_UNMAPPED, Alignments,
    BgzfReader, iter_alignments,
)
from .errors import UserError

STRANDEDNESS = ("second", "first", "unstranded")
# kind of each CIGAR operation: 0 coverage (M = X), 1 spliced coverage (D N), -1 neither
OP_KIND = np.full(16, -1, dtype=np.int8)
OP_KIND[[0, 7, 8]] = 0
OP_KIND[[2, 3]] = 1
#: tracks of a window: coverage +, coverage -, spliced +, spliced -
TRACKS = 4


def transcript_minus(aln: Alignments, strandedness: str, path: str) -> np.ndarray:
    """Per record: whether the transcript it came from is on the minus strand."""
    reverse = (aln.flag & FLAG_REVERSE) != 0
    if strandedness == "unstranded":
        return reverse
    paired = (aln.flag & FLAG_PAIRED) != 0
    read1, read2 = (aln.flag & FLAG_READ1) != 0, (aln.flag & FLAG_READ2) != 0
    if (paired & (read1 == read2)).any():
        raise UserError(f"{path}: a paired alignment is marked as neither or both first and second mate; "
                        "strandedness cannot be decided (use --unstranded)")
    flip = ~paired | read1  # dUTP: the second read has the transcript's strand
    if strandedness == "first":
        flip = ~flip
    return reverse ^ flip


@dataclass
class RegionCounts:
    reads: int = 0  # alignments counted
    bases: int = 0  # coverage bases counted


def count_region(path: str, ref_id: int, virtual_offset: int, r0: int, r1: int, window: int, strandedness: str,
                 counts: RegionCounts | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(window_start, coverage)`` for consecutive windows of [r0, r1); coverage is (4, n) int32."""
    reader = BgzfReader(path, virtual_offset)
    carry = np.zeros(TRACKS, dtype=np.int64)
    events: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}  # window start -> [(index, +1/-1), ...]
    next_window = r0
    try:
        for aln in iter_alignments(reader):
            past = (aln.ref_id != ref_id) | (aln.pos >= r1)
            done = bool(past.any())
            n = int(np.argmax(past)) if done else len(aln)
            if n:
                _collect(aln if n == len(aln) else aln.slice(0, n), r0, r1, window, strandedness, path, carry, events,
                         counts)
                last_start = int(aln.pos[n - 1])
                while next_window < r1 and next_window + window <= last_start:
                    yield next_window, _finish(events.pop(next_window, []), carry, next_window, r1, window)
                    next_window += window
            if done:
                break
    finally:
        reader.close()
    while next_window < r1:
        yield next_window, _finish(events.pop(next_window, []), carry, next_window, r1, window)
        next_window += window


def count_sequences(path: str, virtual_offset: int, first_ref: int, lengths: Sequence[int], strandedness: str,
                    counts: RegionCounts | None = None) -> np.ndarray:
    """Coverage (4, sum of lengths) int32 of whole sequences ``first_ref, first_ref + 1, ...`` laid end to end,
    counted in one pass from ``virtual_offset``: a draft assembly's short contigs cost one seek and one
    count per group instead of one each. Blocks are clipped to their sequence, so none spills into the next."""
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets, total, last_ref = ends - lengths, int(ends[-1]), first_ref + len(lengths) - 1
    size = TRACKS * (total + 1)
    diff = np.zeros(size, dtype=np.int64)
    opened, closed, pending = [], [], 0  # block starts and ends as indexes into diff, summed in bulk

    def add() -> None:
        nonlocal pending
        if pending:
            diff[:] += np.bincount(np.concatenate(opened), minlength=size)
            diff[:] -= np.bincount(np.concatenate(closed), minlength=size)
            opened.clear(), closed.clear()
            pending = 0

    reader = BgzfReader(path, virtual_offset)
    try:
        for aln in iter_alignments(reader):
            mine = (aln.ref_id >= first_ref) & (aln.ref_id <= last_ref)
            past = (aln.ref_id > last_ref) | (aln.ref_id < 0)  # sorted: later references, then the unplaced
            done = bool(past.any())
            n = int(np.argmax(past)) if done else len(aln)
            if mine[:n].any():
                aln = aln.slice(0, n)
                rec, track, starts, stops = _blocks(aln, strandedness, path, counts, mine[:n])
                seq = aln.ref_id[rec].astype(np.int64) - first_ref
                limit = lengths[seq]
                base = track * (total + 1) + offsets[seq]
                opened.append(base + np.clip(starts, 0, limit))
                closed.append(base + np.clip(stops, 0, limit))
                pending += len(base)
                if pending > size:
                    add()
            if done:
                break
    finally:
        reader.close()
    add()
    return np.cumsum(diff.reshape(TRACKS, total + 1)[:, :total], axis=1).astype(np.int32)


def _blocks(aln: Alignments, strandedness: str, path: str, counts: RegionCounts | None, records: np.ndarray | None = None,
            r0: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The counted blocks of the records (only ``records``, a mask, when given): (record, track, start, end)."""
    keep = (aln.flag & (FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL)) == 0
    if records is not None:
        keep &= records
    minus = transcript_minus(aln, strandedness, path)
    kind = OP_KIND[aln.op]
    use = (kind >= 0) & keep[aln.op_record] & (aln.op_len > 0)
    rec = aln.op_record[use]
    track = 2 * kind[use].astype(np.int64) + minus[rec]
    starts = aln.op_start[use]
    ends = starts + aln.op_len[use]
    if counts is not None:  # each alignment belongs to the region it starts in
        counts.reads += int((keep & (aln.pos >= r0)).sum())
        counts.bases += int((ends - starts)[track < 2].sum())
    return rec, track, starts, ends


def _collect(aln: Alignments, r0: int, r1: int, window: int, strandedness: str, path: str,
             carry: np.ndarray, events: dict, counts: RegionCounts | None) -> None:
    """Turn the blocks of the records into +1/-1 events, filed by window."""
    _, track, starts, ends = _blocks(aln, strandedness, path, counts, r0=r0)
    positions = np.concatenate([starts, ends])
    deltas = np.concatenate([np.ones(len(starts), np.int8), -np.ones(len(ends), np.int8)])
    tracks = np.concatenate([track, track])
    before = positions < r0  # blocks running into the region: part of the coverage at r0
    if before.any():
        np.add.at(carry, tracks[before], deltas[before])
    inside = (positions >= r0) & (positions < r1)
    rel = positions[inside] - r0
    win = rel // window
    offset, tracks, deltas = rel - win * window, tracks[inside], deltas[inside]
    for w in np.unique(win).tolist():
        sel = win == w
        start = r0 + w * window
        size = min(window, r1 - start)
        events.setdefault(start, []).append((tracks[sel] * size + offset[sel], deltas[sel]))


def _finish(window_events: list, carry: np.ndarray, start: int, r1: int, window: int) -> np.ndarray:
    """Coverage of one window from its events and the coverage carried in from before it."""
    size = min(window, r1 - start)
    if not window_events:
        return np.repeat(carry.astype(np.int32)[:, None], size, axis=1)
    index = np.concatenate([e[0] for e in window_events])
    delta = np.concatenate([e[1] for e in window_events])
    diff = np.bincount(index[delta > 0], minlength=TRACKS * size)
    diff -= np.bincount(index[delta < 0], minlength=TRACKS * size)
    diff = diff.reshape(TRACKS, size)
    cov = np.cumsum(diff, axis=1, dtype=np.int32)
    cov += carry.astype(np.int32)[:, None]
    carry += diff.sum(axis=1)
    return cov
