"""The gene-structure model of HelixerPost and its exact decoder: the cheapest labelling of a candidate
region with intergenic, UTR, start codon, three coding phases, stop codon and introns (U2 GT-AG, U2 GC-AG,
U12 AT-AC) given base-wise class and phase probabilities and the sequence.

Upstream (Rust HelixerPost) finds the cheapest path by a best-first search over (position, state) with a
dense table of about 3.5 kB per base. Every move consumes bases, so the graph is a DAG in position and a
Viterbi pass over positions gives the same optimum; it keeps one small back-pointer per (position, state)
(4 bits for each state with a choice: ~35 bytes per base) and a ring of costs as deep as the longest state (the intron's donor
block). Costs are integers, rounded per move as upstream does (micro-units of -log2 probability), so both
decoders agree on the optimum except where two paths cost exactly the same.

The model, as in upstream (facts in docs/tools.md, helixer-post):
- per base, penalties -log2(max(p, 1e-9)) minus the smallest over the classes intergenic, UTR,
  CDS in phase 0/1/2 (the phase probabilities rescaled to p(CDS) and blended 0.2 : 0.8 with p(CDS)),
  intron; codon positions 1, 2, 3 take phase 0, 2, 1;
- start codon ATG and stop codons TAA/TAG/TGA at weight 1000 (effectively hard), no in-frame stop;
- donor and acceptor motifs at weight 1; an intron's first block of ``min_intron - 1`` bases (U12 at
  most 29) makes its minimum length;
- splicing anywhere in the UTRs and the coding sequence, also inside start and stop codons.
Beyond upstream: ``min_exon`` bases between an acceptor and the next donor (and before the first donor
and after the last acceptor), so no 1-2 bp exons; the Coding1 penalty as intended (upstream swaps two
values there; ``upstream_coding1=True`` reproduces it for side-by-side tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit


def compiled(function):
    """``function`` compiled by numba, its machine code cached where numba finds a place the user can write
    (beside the sources, else the user's cache folder, or NUMBA_CACHE_DIR); in a read-only install without a
    writable home (a container, Galaxy, a conda env of another user) compiled anew each run, silently."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


PROB_FLOOR = 1e-9
PHASE_RETAIN = 0.2
PHASE_DILUTE = 1.0 - PHASE_RETAIN
SIGNAL_WEIGHT = 1000.0  # start and stop codons
SCALE = 1_000_000.0  # costs are integers in micro-units, truncated per move as upstream
U2_MIN_INTRON = 50
U12_MIN_INTRON = 30

# base columns of data/X
C, A, T, G = 0, 1, 2, 3
# emission columns: the six combined classes, then Coding1 as upstream computes it (absolute -log2 p)
E_IG, E_UTR, E_PH0, E_PH1, E_PH2, E_INTRON, E_PH2_ABS = range(7)
# labels of states, and so of the regions they make
IG, UTR5, CDS, INTRON, UTR3 = range(5)
LABEL_NAMES = ("intergenic", "five_prime_UTR", "CDS", "intron", "three_prime_UTR")
# intron types: donor motif, acceptor motif
GTAG, GCAG, ATAC = range(3)
INTRON_TYPES = ("U2 GT-AG", "U2 GC-AG", "U12 AT-AC")

# primary states: name, label, emission, bases allowed on entry (None: any)
_PRIMARY = [
    ("Intergenic", IG, E_IG, None),
    ("UTR5", UTR5, E_UTR, None),
    ("Start0", CDS, E_PH0, (A,)),
    ("Start1", CDS, E_PH2, (T,)),
    ("Start2", CDS, E_PH1, (G,)),
    ("Coding0", CDS, E_PH0, (A, C, G)),  # a codon's first base: T only through Stop0T
    ("Coding1", CDS, E_PH2, None),
    ("Coding2", CDS, E_PH1, None),
    ("Stop0T", CDS, E_PH0, (T,)),
    ("Stop1TA", CDS, E_PH2, (A,)),
    ("Stop1TG", CDS, E_PH2, (G,)),
    ("Stop2", CDS, E_PH1, None),
    ("UTR3", UTR3, E_UTR, None),
]
_P = {name: i for i, (name, *_) in enumerate(_PRIMARY)}
# which intron a state's donor opens: Start2's introns are Coding2's, Stop2's are UTR3's
_INTRON_OWNER = {"UTR5": "UTR5", "Start0": "Start0", "Start1": "Start1", "Start2": "Coding2",
                 "Coding0": "Coding0", "Coding1": "Coding1", "Coding2": "Coding2", "Stop0T": "Stop0T",
                 "Stop1TA": "Stop1TA", "Stop1TG": "Stop1TG", "Stop2": "UTR3", "UTR3": "UTR3"}
_HAS_INTRONS = ("UTR5", "Start0", "Start1", "Coding0", "Coding1", "Coding2", "Stop0T", "Stop1TA", "Stop1TG", "UTR3")
# moves between primary states (within an exon): target, bases allowed at the target's first base
# beyond its own entry rule (None: no extra rule); weight 1000 (stop avoidance)
_MOVES = {
    "Intergenic": [("Intergenic", None), ("UTR5", None)],
    "UTR5": [("UTR5", None), ("Start0", None)],
    "Start0": [("Start1", None)],
    "Start1": [("Start2", None)],
    "Start2": [("Coding0", None), ("Stop0T", None)],
    "Coding0": [("Coding1", None)],
    "Coding1": [("Coding2", None)],
    "Coding2": [("Coding0", None), ("Stop0T", None)],
    "Stop0T": [("Stop1TA", None), ("Stop1TG", None), ("Coding1", (C, T))],
    "Stop1TA": [("Stop2", (A, G)), ("Coding2", (C, T))],
    "Stop1TG": [("Stop2", (A,)), ("Coding2", (C, G, T))],
    "Stop2": [("UTR3", None)],
    "UTR3": [("UTR3", None), ("Intergenic", None)],
}
# after an intron of a state, the moves that state could have made (its own, not the self-loop)
_AFTER_INTRON = {
    "UTR5": [("UTR5", None), ("Start0", None)],
    "Start0": [("Start1", None)],
    "Start1": [("Start2", None)],
    "Coding0": [("Coding1", None)],
    "Coding1": [("Coding2", None)],
    "Coding2": [("Coding0", None), ("Stop0T", None)],
    "Stop0T": [("Stop1TA", None), ("Stop1TG", None), ("Coding1", (C, T))],
    "Stop1TA": [("Stop2", (A, G)), ("Coding2", (C, T))],
    "Stop1TG": [("Stop2", (A,)), ("Coding2", (C, G, T))],
    "UTR3": [("UTR3", None)],
}


def _mask(bases) -> int:
    return 0 if bases is None else sum(1 << b for b in bases)


@dataclass(frozen=True)
class Model:
    """A state graph in arrays for the decoder. States with duration 1 have incoming moves
    (``src``, acceptor type + 1 or 0, extra base mask) listed per target in CSR form; donor states
    (duration ``dur``) list their source states."""

    n_states: int
    label: np.ndarray  # (S,) int8
    emission: np.ndarray  # (S,) int8
    entry_mask: np.ndarray  # (S,) int8: bases allowed at the first base (0: any)
    donor: np.ndarray  # (S,) int8: intron type opened by this donor state, -1 otherwise
    dur: np.ndarray  # (S,) int32
    in_ptr: np.ndarray  # (S+1,) int32
    in_src: np.ndarray  # int32
    in_acceptor: np.ndarray  # int8: 0 none, 1 + intron type
    in_mask: np.ndarray  # int8
    back_slot: np.ndarray  # (S,) int32: a state's 4-bit back-pointer slot, -1 for states with one incoming move
    can_end: np.ndarray  # (S,) bool: a path may end in this state (not in a young exon)
    names: tuple


@lru_cache(maxsize=None)
def build_model(min_intron: int = U2_MIN_INTRON, min_exon: int = 1, upstream_coding1: bool = False) -> Model:
    """The state graph: upstream's 73 states, plus ``min_exon - 1`` layers of 'young exon' copies of the
    exon states that may not open an intron or end the transcript yet."""
    if min_intron < 3:
        raise ValueError("min_intron must be at least 3")
    durations = {GTAG: min_intron - 1, GCAG: min_intron - 1, ATAC: min(U12_MIN_INTRON, min_intron) - 1}
    names, label, emission, entry, donor, dur = [], [], [], [], [], []
    index: dict[tuple, int] = {}

    def add(key, name, lab, emis, mask, don, d):
        index[key] = len(names)
        names.append(name)
        label.append(lab)
        emission.append(emis)
        entry.append(mask)
        donor.append(don)
        dur.append(d)

    ages = range(1, max(min_exon, 1))  # young layers: 1 .. min_exon-1 exon bases so far
    for pname, lab, emis, bases in _PRIMARY:
        if upstream_coding1 and pname == "Coding1":
            emis = E_PH2_ABS
        add((pname, 0), pname, lab, emis, _mask(bases), -1, 1)
        if pname != "Intergenic":
            for age in ages:
                add((pname, age), f"{pname}~{age}", lab, emis, _mask(bases), -1, 1)
    for pname in _HAS_INTRONS:
        for it in (GTAG, GCAG, ATAC):
            add((pname, "dss", it), f"{pname}:{INTRON_TYPES[it]}:donor", INTRON, E_INTRON, 0, it, durations[it])
            add((pname, "body", it), f"{pname}:{INTRON_TYPES[it]}", INTRON, E_INTRON, 0, -1, 1)

    incoming: dict[int, list[tuple[int, int, int]]] = {i: [] for i in range(len(names))}

    def exon_target(tname, age):
        """The state entered when an exon state of ``age`` bases consumes one more base."""
        if tname == "Intergenic":
            return index[(tname, 0)]
        nxt = age + 1
        return index[(tname, 0 if nxt >= min_exon or age == 0 else nxt)]

    for sname, moves in _MOVES.items():
        src_ages = [0] if sname == "Intergenic" else [0, *ages]
        for age in src_ages:
            src = index[(sname, age)]
            for tname, extra in moves:
                if age and tname == "Intergenic":
                    continue  # the last exon is too short
                if sname == "Intergenic" and tname == "UTR5":
                    tgt = index[(tname, 1 if min_exon > 1 else 0)]  # a transcript's first exon starts
                else:
                    tgt = exon_target(tname, age)
                incoming[tgt].append((src, 0, _mask(extra)))
    # donors: from mature states only; a donor's block leads to the intron body, which loops and leaves by
    # an acceptor into a young exon state
    for sname, owner in _INTRON_OWNER.items():
        src = index[(sname, 0)]
        for it in (GTAG, GCAG, ATAC):
            incoming[index[(owner, "dss", it)]].append((src, 0, 0))
    for owner in _HAS_INTRONS:
        for it in (GTAG, GCAG, ATAC):
            body = index[(owner, "body", it)]
            incoming[body].append((index[(owner, "dss", it)], 0, 0))
            incoming[body].append((body, 0, 0))
            for tname, extra in _AFTER_INTRON[owner]:
                tgt = index[(tname, 1 if min_exon > 1 else 0)]
                incoming[tgt].append((body, 1 + it, _mask(extra)))

    ptr, src, acc, msk, slots = [0], [], [], [], []
    for i in range(len(names)):
        for s, a, m in incoming[i]:
            src.append(s)
            acc.append(a)
            msk.append(m)
        ptr.append(len(src))
        if len(incoming[i]) > 16:
            raise AssertionError("a back-pointer holds 16 choices")
        slots.append(sum(k >= 0 for k in slots) if len(incoming[i]) > 1 else -1)
    return Model(len(names), np.array(label, np.int8), np.array(emission, np.int8), np.array(entry, np.int8),
                 np.array(donor, np.int8), np.array(dur, np.int32), np.array(ptr, np.int32),
                 np.array(src, np.int32), np.array(acc, np.int8), np.array(msk, np.int8),
                 np.array(slots, np.int32), np.array(["~" not in nm for nm in names]), tuple(names))


@compiled
def _base_penalties(x, out):
    for i in range(x.shape[0]):
        lo = math.inf
        for b in range(4):
            v = -math.log2(max(np.float64(x[i, b]), PROB_FLOOR))
            out[i, b] = v
            lo = min(lo, v)
        for b in range(4):
            out[i, b] -= lo


@compiled
def _emission_penalties(cls, ph, out):
    probs = np.empty(6, np.float64)
    for i in range(cls.shape[0]):
        coding = np.float64(cls[i, 2])
        p0, p1, p2 = np.float64(ph[i, 1]), np.float64(ph[i, 2]), np.float64(ph[i, 3])
        total = p0 + p1 + p2
        if total > 0.0:
            scale = coding / total
            p0, p1, p2 = p0 * scale, p1 * scale, p2 * scale
        else:
            p0 = p1 = p2 = coding / 3.0
        probs[0] = cls[i, 0]
        probs[1] = cls[i, 1]
        probs[2] = p0 * PHASE_RETAIN + coding * PHASE_DILUTE
        probs[3] = p1 * PHASE_RETAIN + coding * PHASE_DILUTE
        probs[4] = p2 * PHASE_RETAIN + coding * PHASE_DILUTE
        probs[5] = cls[i, 3]
        lo = math.inf
        for k in range(6):
            v = -math.log2(max(probs[k], PROB_FLOOR))
            out[i, k] = v
            lo = min(lo, v)
        out[i, 6] = out[i, 4]
        for k in range(6):
            out[i, k] -= lo


def penalties(bases: np.ndarray, classes: np.ndarray, phases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per base: (n, 4) -log2 penalties of the bases (C, A, T, G) relative to the likeliest, and (n, 7)
    emission penalties: intergenic, UTR, CDS phase 0/1/2, intron (each relative to the likeliest of the
    six), and phase 2's absolute -log2 (upstream's Coding1). Inputs of any float type (float16 files)."""
    n = len(bases)
    bp = np.empty((n, 4), np.float64)
    _base_penalties(bases.astype(np.float32), bp)
    em = np.empty((n, 7), np.float64)
    _emission_penalties(classes.astype(np.float32), phases.astype(np.float32), em)
    return bp, em


@compiled
def _min_masked(pen, p, mask):
    best = math.inf
    for b in range(4):
        if mask & (1 << b) and pen[p, b] < best:
            best = pen[p, b]
    return best


@compiled
def _donor(bp, p, n, kind):
    """Donor motif penalty for an intron whose first base is p, or -1 where it does not fit."""
    if kind == 0:  # GT
        if p + 2 > n:
            return -1.0
        return bp[p, 3] + bp[p + 1, 2]
    if kind == 1:  # (G)GC: the exon's last base and the intron's first two
        if p < 2 or p + 2 > n:
            return -1.0
        return bp[p - 1, 3] + bp[p, 3] + bp[p + 1, 0]
    if p + 7 > n:  # ATATCCT
        return -1.0
    return bp[p, 1] + bp[p + 1, 2] + bp[p + 2, 1] + bp[p + 3, 2] + bp[p + 4, 0] + bp[p + 5, 0] + bp[p + 6, 2]


@compiled
def _forward(bp, em, off, p0, p1, n, cost, back, back_off, emission, entry_mask, donor, dur, in_ptr, in_src,
             in_acc, in_mask, back_slot):
    """Viterbi steps p0 <= p < p1 of a region of n bases: from the costs of end position p (ring ``cost``,
    R rows) to those of p + duration. ``bp``/``em`` row i is position off + i. With a non-empty ``back``,
    the choice made for (end position q, state) goes to back[q - back_off] (4 bits per state slot)."""
    S = emission.shape[0]
    R = cost.shape[0]
    INF = np.int64(1) << 62
    record = back.shape[0] > 0
    for p in range(p0, p1):
        i = p - off
        row = cost[p % R]
        nxt = cost[(p + 1) % R]
        for t in range(S):
            if dur[t] == 1:
                nxt[t] = INF
        for t in range(S):
            d = dur[t]
            if d == 1:
                en = 0.0
                if entry_mask[t] != 0:
                    en = _min_masked(bp, i, entry_mask[t]) * 1000.0
                e = em[i, emission[t]]
                best = INF
                arg = 0
                for k in range(in_ptr[t], in_ptr[t + 1]):
                    c0 = row[in_src[k]]
                    if c0 >= INF:
                        continue
                    acc = in_acc[k]
                    ex = 0.0
                    if acc != 0:
                        if p < 2:
                            continue
                        if acc == 3:  # AT-AC: ends in AC
                            ex = bp[i - 2, 1] + bp[i - 1, 0]
                        else:  # ends in AG
                            ex = bp[i - 2, 1] + bp[i - 1, 3]
                    if in_mask[k] != 0:
                        ex = ex + _min_masked(bp, i, in_mask[k]) * 1000.0
                    w = ((ex + en) + e) * 1e6
                    c = c0 + np.int64(w)
                    if c < best:
                        best = c
                        arg = k - in_ptr[t]
                nxt[t] = best
                if record and back_slot[t] >= 0:
                    back[p + 1 - back_off, back_slot[t] >> 1] |= np.uint8(arg << (4 * (back_slot[t] & 1)))
            else:
                if p + d > n:
                    continue
                tgt = cost[(p + d) % R]
                dn = -1.0
                if p >= 2 or donor[t] != 1:
                    dn = _donor(bp, i, n - off, donor[t])
                best = INF
                arg = 0
                if dn >= 0.0:
                    for k in range(in_ptr[t], in_ptr[t + 1]):
                        c0 = row[in_src[k]]
                        if c0 < best:
                            best = c0
                            arg = k - in_ptr[t]
                if best < INF:
                    w = dn
                    col = emission[t]
                    for q in range(i, i + d):
                        w = w + em[q, col]
                    best = best + np.int64(w * 1e6)
                tgt[t] = best
                if record and back_slot[t] >= 0:
                    back[p + d - back_off, back_slot[t] >> 1] |= np.uint8(arg << (4 * (back_slot[t] & 1)))


@compiled
def _trace(back, back_off, first_step, q, s, label, dur, in_ptr, in_src, back_slot, labels, labels_off):
    """Follow the choices back from state s ending at q while its move was made at a step >= first_step,
    writing labels of positions labels_off + i; returns the (q, s) where it stopped."""
    while q > 0 and q - dur[s] >= first_step:
        a = q - dur[s]
        for j in range(a, q):
            labels[j - labels_off] = label[s]
        k = in_ptr[s]
        if back_slot[s] >= 0:
            k += (back[q - back_off, back_slot[s] >> 1] >> (4 * (back_slot[s] & 1))) & 15
        q = a
        s = in_src[k]
    return q, s


SEGMENT = 1 << 18  # bases per forward segment: longer regions are solved in segments with checkpoints


def solve(read, n: int, model: Model, segment: int = SEGMENT) -> np.ndarray:
    """The cheapest path through ``model`` for a region of ``n`` bases, as a label per base (int8).
    ``read(a, b)`` gives the :func:`penalties` of positions [a, b). Memory is bounded by the segment length
    whatever the region's: a forward pass keeps the cost ring at every segment start (checkpoints); the
    trace-back then re-runs each segment from its checkpoint, last first, with back-pointers."""
    m = model
    R = int(m.dur.max()) + 1
    slots = int((m.back_slot >= 0).sum())
    INF = np.int64(1) << 62

    def run(c, cost, back):
        p1 = min(c + segment, n)
        lo, hi = max(0, c - 2), min(n, p1 + R)
        bp, em = read(lo, hi)
        _forward(bp, em, lo, c, p1, n, cost, back, c, m.emission, m.entry_mask, m.donor, m.dur, m.in_ptr,
                 m.in_src, m.in_acceptor, m.in_mask, m.back_slot)

    cost = np.full((R, m.n_states), INF, np.int64)
    cost[0, 0] = 0  # the root: intergenic, no base consumed
    starts = list(range(0, n, segment))
    checkpoints = []
    no_back = np.zeros((0, 1), np.uint8)
    single = len(starts) == 1
    back = np.zeros((min(segment, n) + R, (slots + 1) // 2), np.uint8)
    for c in starts:
        checkpoints.append(None if single else cost.copy())
        run(c, cost, back if single else no_back)
    last = cost[n % R]
    ok = np.flatnonzero(m.can_end)  # a region may end inside a gene, not in an exon shorter than the minimum
    end = int(ok[np.argmin(last[ok])])  # the first of equal costs: intergenic before the others
    labels = np.empty(n, np.int8)
    q, s = n, end
    for j in range(len(starts) - 1, -1, -1):
        c = starts[j]
        if not single:
            back[:] = 0
            run(c, checkpoints[j], back)
            checkpoints[j] = None
        q, s = _trace(back, c, c, q, s, m.label, m.dur, m.in_ptr, m.in_src, m.back_slot, labels, 0)
    return labels
