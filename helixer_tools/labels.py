"""Training labels from GeenuFF gene models, with upstream geenuff2h5's semantics.

Per strand, features are painted into three binary columns (transcript, CDS, intron) and an error
mask, then turned into the label datasets:

- ``y``: one-hot [intergenic, UTR, CDS, intron] (intergenic = not transcript; introns inside the CDS
  span are intron, not CDS);
- ``phases``: one-hot [non-coding, phase 0, phase 1, phase 2]; from the first base of a codon the
  classes are 1, 3, 2 repeated, rolled by the GFF phase of the CDS, reversed on the minus strand,
  skipping introns, truncated on the 3' end (plus) or 5' array end (minus) when the CDS is not a whole
  number of codons;
- ``transitions``: 6 columns [+tr, +cds, +intron, -tr, -cds, -intron] of feature starts and ends found
  in plus-strand array order, each marked on the 2 bp around the change (so on the minus strand the
  columns 0-2 mark biological ends, as upstream);
- ``sample_weights``: 0 on GeenuFF error regions (and, after padding, on padding);
- ``gene_lengths``: the length of the longest transcript over each base.

Windows: a sequence is labelled in windows of whole subsequences so memory stays bounded. Windows are
only split where no label column can change (no feature starts or ends there) and never inside a CDS,
which makes the result identical to labelling the whole sequence at once, as upstream does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

TRANSCRIPT, CDS, INTRON, ERROR = 0, 1, 2, 3
FEATURE_KINDS = {"geenuff_transcript": TRANSCRIPT, "geenuff_cds": CDS, "geenuff_intron": INTRON}
ERROR_TYPES = frozenset({
    "missing_utr_5p", "missing_utr_3p", "empty_super_locus", "missing_start_codon", "missing_stop_codon",
    "wrong_starting_phase", "mismatched_ending_phase", "overlapping_exons", "too_short_intron",
    "super_loci_overlap_error", "missmatching_strands", "truncated_intron",
})
_EYE4 = np.eye(4, dtype=np.int8)
_CODON = np.array([1, 3, 2], dtype=np.int8)


@dataclass(frozen=True)
class StrandFeatures:
    """One strand's features of one sequence, in numerification order.

    ``start``/``end`` are the python slice of the feature on the plus-strand array.
    """

    kind: np.ndarray  # int8: TRANSCRIPT, CDS, INTRON, ERROR
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    phase: np.ndarray  # int8

    @classmethod
    def empty(cls) -> "StrandFeatures":
        z = np.zeros(0, dtype=np.int64)
        return cls(z.astype(np.int8), z, z, z.astype(np.int8))

    def __len__(self) -> int:
        return len(self.kind)


@dataclass
class StrandLabels:
    """Label arrays of one strand over a window, in that strand's 5'->3' order (as rows are stored)."""

    y: np.ndarray  # (n, 4) int8
    phases: np.ndarray  # (n, 4) int8
    transitions: np.ndarray  # (n, 6) int8
    sample_weights: np.ndarray  # (n,) int8
    gene_lengths: np.ndarray  # (n,) uint32


def label_window(features: StrandFeatures, plus: bool, window_start: int, window_end: int,
                 breaks: Sequence[int] = ()) -> StrandLabels:
    """Label bases [window_start, window_end) of one strand, returned in the strand's 5'->3' order.

    ``breaks`` (plus-strand positions inside the window) are where one sequence ends and another
    begins: no transition is marked across them, as none is at a sequence's ends. This lets many
    short sequences (a draft assembly's contigs) be labelled in one call, laid end to end.

    The minus strand is labelled directly in its own orientation: upstream labels it in plus-strand
    order and then reverses the arrays, which gives the same classes, masks, lengths and phases as
    labelling the reversed coordinates the plus-strand way, with feature starts and ends (the two
    halves of the transition columns) swapped. Working in the reversed frame saves reversing arrays.
    """
    n = window_end - window_start
    cols = np.zeros((3, n), dtype=np.int8)  # transcript, CDS, intron; one contiguous row each
    mask = np.ones(n, dtype=np.int8)
    gene_lengths = np.zeros(n, dtype=np.uint32)
    phases = np.zeros((n, 4), dtype=np.int8)
    phases[:, 0] = 1

    inside = (features.start < window_end) & (features.end > window_start)
    kinds = features.kind[inside]
    starts = np.clip(features.start[inside] - window_start, 0, n)
    ends = np.clip(features.end[inside] - window_start, 0, n)
    if not plus:
        starts, ends = n - ends, n - starts
    lengths = features.end[inside] - features.start[inside]
    for kind, a, b, length in zip(kinds.tolist(), starts.tolist(), ends.tolist(), lengths.tolist()):
        if kind == ERROR:
            mask[a:b] = 0
            continue
        cols[kind, a:b] = 1
        if kind == TRANSCRIPT:
            np.maximum(gene_lengths[a:b], length, out=gene_lengths[a:b])

    is_cds = kinds == CDS
    for a, b, phase in zip(starts[is_cds].tolist(), ends[is_cds].tolist(), features.phase[inside][is_cds].tolist()):
        coding = np.flatnonzero(cols[INTRON, a:b] == 0) + a
        if not len(coding):
            continue
        pattern = np.tile(np.roll(_CODON, phase) if phase else _CODON, -(-len(coding) // 3))
        phases[coding] = _EYE4[pattern[: len(coding)]]

    code = cols[TRANSCRIPT] + 2 * cols[CDS] + 4 * cols[INTRON]
    cuts = np.asarray(breaks, dtype=np.int64) - window_start
    transitions = _transitions(cols, code, cuts if plus else n - cuts)
    if not plus:
        transitions = transitions[:, [3, 4, 5, 0, 1, 2]]
    return StrandLabels(_one_hot4(code), phases, transitions, mask, gene_lengths)


# class of each transcript/CDS/intron bit combination (code = tr + 2*cds + 4*intron), as one-hot rows
_CLASS_OF_CODE = np.array([0, 1, 0, 2, 0, 3, 0, 3])
_ONE_HOT4_U32 = np.ascontiguousarray(_EYE4[_CLASS_OF_CODE]).view(np.uint32).ravel()


def _one_hot4(code: np.ndarray) -> np.ndarray:
    """[intergenic, UTR, CDS, intron]: not transcript; transcript only; transcript+CDS; transcript+intron."""
    return _ONE_HOT4_U32[code].view(np.int8).reshape(len(code), 4)


def _transitions(cols: np.ndarray, code: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Starts (columns 0-2) and ends (3-5) of features, marked on the last base before and the first after.

    Computed only where something changes (transitions are sparse), never across a cut (a position
    where another sequence begins).
    """
    n = len(code)
    marks = np.zeros((n, 6), dtype=np.int8)
    if n < 2:
        return marks
    changed = code[:-1] != code[1:]
    if len(cuts):
        changed[cuts[(cuts > 0) & (cuts < n)] - 1] = False
    where = np.flatnonzero(changed)
    diff = (cols[:, where] - cols[:, where + 1]).T
    edges = np.concatenate([diff < 0, diff > 0], axis=1).astype(np.int8)
    np.add.at(marks, where, edges)
    np.add.at(marks, where + 1, edges)
    return marks


def split_points(features: list[StrandFeatures], length: int, subsequence_length: int, window_chunks: int) -> list[int]:
    """Window boundaries, in subsequences, where splitting cannot change any label.

    Boundary k (base k*L) is unsafe when a feature of either strand starts or ends there (a transition
    would be lost) or a CDS spans it (its phase pattern needs the whole CDS). Windows are at least
    ``window_chunks`` long, extended to the next safe boundary. Returns [0, k1, ..., n_chunks].
    """
    L = subsequence_length
    n_chunks = -(-length // L)
    unsafe = np.zeros(n_chunks + 1, dtype=bool)
    open_cds = np.zeros(n_chunks + 2, dtype=np.int64)
    for f in features:
        for edge in (f.start, f.end):
            unsafe[np.clip(edge[edge % L == 0] // L, 0, n_chunks)] = True
        cds = f.kind == CDS
        first_inside = f.start[cds] // L + 1  # boundaries strictly inside [start, end)
        past_inside = -(-f.end[cds] // L)
        keep = first_inside < past_inside
        np.add.at(open_cds, np.clip(first_inside[keep], 0, n_chunks + 1), 1)
        np.add.at(open_cds, np.clip(past_inside[keep], 0, n_chunks + 1), -1)
    unsafe |= np.cumsum(open_cds)[: n_chunks + 1] > 0
    points, k = [0], 0
    while k < n_chunks:
        k = min(k + window_chunks, n_chunks)
        while k < n_chunks and unsafe[k]:
            k += 1
        points.append(k)
    return points
