"""helixer-post: gene models (GFF3) from base-wise predictions, HelixerPost's algorithm re-implemented.

Per sequence and strand (5'->3'), a window of ``window_size`` bases slides over the genic probability
(1 - p(intergenic), fixed point as upstream); a candidate region starts where the window's sum reaches
``edge_threshold`` and lasts while it stays there (plus the last window), and is kept when its best window
exceeds ``peak_threshold``. Each region is decoded by :mod:`helixer_tools.hmm` (the cheapest path through
the gene-structure model), the path is split into genes at intergenic bases, and genes with fewer than
``min_coding_length`` coding bases are dropped. Regions are decoded in parallel threads.

Memory: the genome is streamed row block by row block; one region's arrays and back-pointers
(~100 bytes per base) per thread are held at a time, never a sequence's or the genome's.

Both padding layouts are read: ours and upstream's fasta2h5 put padding at the end of every row;
upstream HybridModel.py >= 0.3.6 writes minus-strand predictions of padded rows padding-first (our
predictions say ``padding=end`` in their attributes; without it the user must say which).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import h5py
import numpy as np

from . import __version__, fasta, gff, hmm
from .atomic import atomic_path
from .errors import UserError
from .h5io import SEQID_BYTES, h5file, names, open_h5, predictions_padding, read_all, rows_by_sequence, species_of
from .progress import Progress

log = logging.getLogger("helixer_tools")

WINDOW_SCALE = np.float32(1_000_000.0)
CLASSES = ("intergenic", "UTR", "CDS", "intron")
BLOCK_ROWS = 16  # rows read at a time while scanning for candidate regions
SOURCE = "Helixer"


@dataclass(frozen=True)
class Params:
    window_size: int = 100
    edge_threshold: float = 0.1
    peak_threshold: float = 0.8
    min_coding_length: int = 60
    min_intron_length: int = hmm.U2_MIN_INTRON
    min_exon_length: int = 3
    min_utr_length: int = 3
    upstream_coding1: bool = False  # reproduce upstream's swapped Coding1 penalty (for comparisons)

    def model(self) -> hmm.Model:
        return hmm.build_model(self.min_intron_length, self.min_exon_length, self.upstream_coding1)


@dataclass
class Gene:
    seq_index: int
    strand: str
    start: int  # 1-based, inclusive, genome coordinates
    end: int
    features: list  # (type, start, end, phase) in transcript order; type in five_prime_UTR, CDS, three_prime_UTR
    exons: list  # (start, end) in transcript order


@dataclass
class StrandRows:
    """The rows of one strand of one sequence in 5'->3' order, with where each lies in the strand."""

    rows: np.ndarray  # row indices
    offsets: np.ndarray  # first strand position of each row
    lengths: np.ndarray  # real bases in each row
    shifts: np.ndarray  # where the real bases start in the predictions row (padding first: L - length)
    prows: np.ndarray | None = None  # the predictions' rows of the same subsequences, where their order differs


@dataclass
class Inputs:
    genome: str
    predictions: str
    species: str
    seqids: list
    lengths: list
    strands: list  # per sequence: (plus StrandRows, minus StrandRows)
    subsequence_length: int
    model_md5: str | None
    padding: str


# ---------------------------------------------------------------------------------------------------
# reading and checking the inputs


def _prediction_rows(genome: str, predictions: str, seqids: np.ndarray, start_ends: np.ndarray,
                     p: h5py.File) -> np.ndarray | None:
    """For predictions that name their rows (ours): None when they are the genome h5's rows in its order, else
    the predictions' row of each genome row (their rows in another order: shuffled, or geenuff2h5's order).
    Predictions of other rows are an error saying which differ."""
    if "data/seqids" not in p or "data/start_ends" not in p:
        return None  # upstream's: the shapes were checked
    theirs_ids, theirs_se = read_all(p["data/seqids"]), read_all(p["data/start_ends"])
    if np.array_equal(theirs_ids, seqids) and np.array_equal(theirs_se, start_ends):
        return None
    def keys(ids, se):
        return [(s, int(a), int(b)) for s, (a, b) in zip(names(ids), se.tolist())]
    mine, theirs = keys(seqids, start_ends), keys(theirs_ids, theirs_se)
    index = {k: i for i, k in enumerate(theirs)}
    missing = [k for k in mine if k not in index]
    if missing or len(index) != len(theirs):
        extra = set(theirs) - set(mine)
        what = (f"{len(missing)} of {genome}'s {len(mine)} rows are not among them, e.g. {missing[0][0]} "
                f"{missing[0][1]}-{missing[0][2]}" if missing else "some of their rows repeat")
        if extra:
            e = sorted(extra)[0]
            what += f"; they have {len(extra)} rows {genome} does not, e.g. {e[0]} {e[1]}-{e[2]}"
        raise UserError(f"{predictions}: its rows (data/seqids, data/start_ends) are not {genome}'s: {what}; "
                        "predictions of another genome h5 (or another subsequence length)?")
    log.info("%s: its rows are in another order than %s's: joined on sequence and coordinates", predictions, genome)
    return np.array([index[k] for k in mine], np.int64)


def open_inputs(genome: str, predictions: str, padding: str | None = None) -> Inputs:
    """Check that the genome h5 and the predictions belong together and find each strand's rows."""
    g = open_h5(genome)
    try:
        p = open_h5(predictions)
    except UserError:
        g.close()
        raise
    with g, p:
        for name in ("data/X", "data/seqids", "data/start_ends", "data/species"):
            if name not in g:
                raise UserError(f"{genome}: no {name}; give the genome h5 of helixer-fasta2h5 (or upstream fasta2h5.py)")
        if "predictions" not in p:
            raise UserError(f"{predictions}: no 'predictions' dataset; give the output of helixer-predict "
                            "(or upstream HybridModel.py)")
        if "predictions_phase" not in p:
            raise UserError(f"{predictions}: no 'predictions_phase' dataset; the gene models need the phase "
                            "predictions (predict with a model that has the phase output)")
        shape = g["data/X"].shape
        if len(shape) != 3 or shape[0] == 0:
            raise UserError(f"{genome}: the genome is empty (no rows in data/X)")
        for name in ("predictions", "predictions_phase"):
            if p[name].shape != shape:
                raise UserError(f"{predictions}: {name} has shape {p[name].shape} but {genome} data/X has {shape}: "
                                "predictions of another genome h5 (or another subsequence length)")
        seqids = read_all(g["data/seqids"])
        start_ends = read_all(g["data/start_ends"])
        species = species_of(g)
        if len(species) != 1:
            raise UserError(f"{genome}: holds {len(species)} species ({', '.join(species)}); "
                            "helixer-post annotates one genome at a time")
        # our predictions name their rows: they must be this genome's, in any order (joined on coordinates)
        to_pred = _prediction_rows(genome, predictions, seqids, start_ends, p)
        theirs = species_of(p)
        if theirs and theirs != species:
            raise UserError(f"{predictions}: species {', '.join(theirs)} but {genome} is {species[0]}")
        L = shape[1]
        padding = predictions_padding(predictions, p, start_ends, L, padding)
        md5 = p.attrs.get("model_md5sum")
        md5 = md5.decode() if isinstance(md5, bytes) else (str(md5) if md5 is not None else None)
        by_seq = rows_by_sequence(genome, seqids, start_ends, L)
        order = list(dict.fromkeys(names(seqids)))  # genome (file) order
    lengths, strands = [], []
    for name in order:
        rs = by_seq[name]
        n_chunks = len(rs.plus)
        chunk_len = np.array([min((k + 1) * L, rs.length) - k * L for k in range(n_chunks)], np.int64)
        plus = StrandRows(rs.plus.astype(np.int64), np.arange(n_chunks, dtype=np.int64) * L, chunk_len,
                          np.zeros(n_chunks, np.int64))
        plus.prows = None if to_pred is None else to_pred[plus.rows]
        k = np.arange(n_chunks)[::-1]  # the minus strand 5'->3': last chunk first
        mlen = chunk_len[k]
        moff = np.concatenate([[0], np.cumsum(mlen)[:-1]]).astype(np.int64)
        shifts = (L - mlen) if padding == "start" else np.zeros_like(mlen)
        minus = StrandRows(rs.minus[k].astype(np.int64), moff, mlen, shifts.astype(np.int64))
        minus.prows = None if to_pred is None else to_pred[minus.rows]
        lengths.append(rs.length)
        strands.append((plus, minus))
    return Inputs(genome, predictions, species[0], order, lengths, strands, L, md5, padding)


# ---------------------------------------------------------------------------------------------------
# candidate regions


@hmm.compiled
def _scan(totals, first_window, thr, peak_thr, state, out):
    """Advance the region state machine over window sums ``totals`` (window i starts at strand position
    first_window + i). ``state``: [inside, start, peak]. Completed regions go to ``out`` as (start, end,
    peak); returns how many."""
    m = 0
    inside, start, peak = state[0], state[1], state[2]
    W_minus_1 = state[3]
    for i in range(totals.shape[0]):
        t = totals[i]
        pos = first_window + i
        if inside == 0:
            if t >= thr:
                inside, start, peak = 1, pos, t
        elif t >= thr:
            if t > peak:
                peak = t
        else:
            if peak > peak_thr:
                out[m, 0], out[m, 1], out[m, 2] = start, pos + W_minus_1, peak
                m += 1
            inside = 0
    state[0], state[1], state[2] = inside, start, peak
    return m


class RegionScanner:
    """Candidate regions of one strand, fed genic values block by block (upstream's window.rs rules)."""

    def __init__(self, params: Params):
        w = params.window_size
        self.W = w
        self.thr = np.uint64(np.float32(params.edge_threshold) * WINDOW_SCALE * np.float32(w))
        self.peak_thr = np.uint64(np.float32(params.peak_threshold) * WINDOW_SCALE * np.float32(w))
        self.tail = np.zeros(0, np.uint64)  # the last W-1 values seen
        self.seen = 0
        self.state = np.array([0, 0, 0, w - 1], np.int64)

    @staticmethod
    def values(intergenic: np.ndarray) -> np.ndarray:
        genic = np.float32(1.0) - intergenic.astype(np.float32)
        return (genic * WINDOW_SCALE).astype(np.uint64)  # truncation as upstream's `as u64`

    def feed(self, v: np.ndarray) -> list[tuple[int, int]]:
        buf = np.concatenate([self.tail, v])
        first = self.seen - len(self.tail)  # strand position of buf[0]
        self.seen += len(v)
        self.tail = buf[-(self.W - 1):] if self.W > 1 else buf[:0]
        if len(buf) < self.W:
            return []
        c = np.concatenate([[0], np.cumsum(buf, dtype=np.uint64)])
        totals = (c[self.W:] - c[:-self.W]).astype(np.int64)
        # windows already seen in the previous block start before `first + 0`... only new windows count
        new_from = max(0, (self.seen - len(v)) - (self.W - 1) - first)
        totals = totals[new_from:]
        out = np.empty((len(totals) + 1, 3), np.int64)
        m = _scan(totals, first + new_from, np.int64(self.thr), np.int64(self.peak_thr), self.state, out)
        return [(int(a), int(b)) for a, b, _ in out[:m]]

    def finish(self) -> list[tuple[int, int]]:
        if self.state[0] and self.state[2] > np.int64(self.peak_thr):
            self.state[0] = 0
            return [(int(self.state[1]), self.seen)]
        return []


# ---------------------------------------------------------------------------------------------------
# reading a strand's data


class StrandReader:
    """Reads strand ranges [a, b) of bases, class and phase predictions, from rows in 5'->3' order."""

    def __init__(self, genome: h5py.File, predictions: h5py.File):
        self.X = genome["data/X"]
        self.P = predictions["predictions"]
        self.Q = predictions["predictions_phase"]

    def rows(self, sr: StrandRows, i: int, j: int, datasets=None):
        """Real bases of rows i..j-1 of a strand, concatenated: (X, predictions, phase)."""
        parts = []
        for ds, shifted in ((self.X, False), (self.P, True), (self.Q, True)) if datasets is None else datasets:
            rows = sr.rows[i:j] if ds is self.X or sr.prows is None else sr.prows[i:j]
            order = np.argsort(rows)
            idx = rows[order]
            block = np.empty((len(idx),) + ds.shape[1:], ds.dtype)
            lo = 0
            # contiguous runs read in one call each
            while lo < len(idx):
                hi = lo + 1
                while hi < len(idx) and idx[hi] == idx[hi - 1] + 1:
                    hi += 1
                block[lo:hi] = ds[int(idx[lo]):int(idx[hi - 1]) + 1]
                lo = hi
            block = block[np.argsort(order)]
            pieces = []
            for r in range(len(rows)):
                s = int(sr.shifts[i + r]) if shifted else 0
                pieces.append(block[r, s:s + int(sr.lengths[i + r])])
            parts.append(np.concatenate(pieces))
        return parts

    def span(self, sr: StrandRows, a: int, b: int):
        i = int(np.searchsorted(sr.offsets, a, side="right")) - 1
        j = int(np.searchsorted(sr.offsets, b, side="left"))
        x, p, q = self.rows(sr, i, j)
        lo = a - int(sr.offsets[i])
        return x[lo:lo + b - a], p[lo:lo + b - a], q[lo:lo + b - a]


def _check_probabilities(block: np.ndarray, path: str, what: str, where: str) -> None:
    if not np.isfinite(block).all():
        raise UserError(f"{path}: {what} of {where} are not finite (NaN or inf)")
    sums = block.astype(np.float32).sum(axis=-1)
    bad = np.abs(sums - 1.0) > 0.02
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise UserError(f"{path}: {what} of {where} do not sum to 1 (base {k}: {sums[k]:.3f}); "
                        "give the model's raw softmax outputs")


def scan_regions(inputs: Inputs, params: Params, progress: bool = True) -> Iterator[tuple[int, int, int, int, np.ndarray]]:
    """Candidate regions of the genome, sequence by sequence, plus then minus strand: (sequence index,
    strand 0/1, start, end, confusion counts of the strand as all intergenic)."""
    total = 2 * sum(inputs.lengths)
    with h5file(inputs.genome, "r") as g, h5file(inputs.predictions, "r") as p, \
            Progress(total, "candidate regions", enabled=progress) as bar:
        reader = StrandReader(g, p)
        for si, (seqid, length) in enumerate(zip(inputs.seqids, inputs.lengths)):
            for strand, sr in enumerate(inputs.strands[si]):
                scanner = RegionScanner(params)
                raw_counts = np.zeros(4, np.int64)
                found = []
                for i in range(0, len(sr.rows), BLOCK_ROWS):
                    j = min(i + BLOCK_ROWS, len(sr.rows))
                    cls, ph = reader.rows(sr, i, j, datasets=((reader.P, True), (reader.Q, True)))
                    where = f"{seqid} {'+-'[strand]} strand, bases {int(sr.offsets[i])}-{int(sr.offsets[j - 1] + sr.lengths[j - 1])}"
                    _check_probabilities(cls, inputs.predictions, "predictions", where)
                    _check_probabilities(ph, inputs.predictions, "predictions_phase", where)
                    raw_counts += np.bincount(cls.argmax(axis=1), minlength=4)
                    found += scanner.feed(RegionScanner.values(cls[:, 0]))
                    bar.update(len(cls))
                found += scanner.finish()
                yield si, strand, found, raw_counts


# ---------------------------------------------------------------------------------------------------
# genes from a decoded region


def _runs(labels: np.ndarray):
    """(label, start, end) runs of equal labels."""
    if len(labels) == 0:
        return []
    cuts = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(labels)]])
    return [(int(labels[a]), int(a), int(b)) for a, b in zip(starts, ends)]


def _exon_end(runs, i: int) -> int:
    """End of the exon that run ``i`` is part of."""
    while i + 1 < len(runs) and runs[i + 1][0] != hmm.INTRON:
        i += 1
    return runs[i][2]


def _exon_start(runs, i: int) -> int:
    while i > 0 and runs[i - 1][0] != hmm.INTRON:
        i -= 1
    return runs[i][1]


_FEATURE = {hmm.UTR5: "five_prime_UTR", hmm.CDS: "CDS", hmm.UTR3: "three_prime_UTR"}


def genes_of_region(labels: np.ndarray, offset: int, params: Params):
    """Genes of a decoded region in strand coordinates: lists of (label, start, end) runs (intergenic
    excluded), those below the minimum coding length dropped, short terminal UTRs trimmed. Also returns the
    final per-base labels (dropped genes and trimmed UTRs intergenic)."""
    final = labels.copy()
    genes, current = [], []
    for run in _runs(labels) + [(hmm.IG, len(labels), len(labels))]:
        if run[0] != hmm.IG:
            current.append(run)
            continue
        if current:
            coding = sum(b - a for lab, a, b in current if lab == hmm.CDS)
            if coding < params.min_coding_length:
                final[current[0][1]:current[-1][2]] = hmm.IG
            else:
                # a 5' or 3' UTR piece next to the start or stop codon that is shorter than the minimum is an
                # artefact of the model's forced structure (every path passes through UTR): trimmed, unless
                # that would leave an exon shorter than the minimum
                if len(current) > 1 and current[0][0] == hmm.UTR5 and current[1][0] == hmm.CDS and \
                        current[0][2] - current[0][1] < params.min_utr_length and \
                        _exon_end(current, 1) - current[1][1] >= params.min_exon_length:
                    final[current[0][1]:current[0][2]] = hmm.IG
                    current.pop(0)
                if len(current) > 1 and current[-1][0] == hmm.UTR3 and current[-2][0] == hmm.CDS and \
                        current[-1][2] - current[-1][1] < params.min_utr_length and \
                        current[-2][2] - _exon_start(current, len(current) - 2) >= params.min_exon_length:
                    final[current[-1][1]:current[-1][2]] = hmm.IG
                    current.pop()
                genes.append([(lab, a + offset, b + offset) for lab, a, b in current])
            current = []
    return genes, final


def to_gene(runs, seq_index: int, strand: int, length: int) -> Gene:
    """A gene from its label runs (strand coordinates, 0-based half-open) in genome coordinates."""
    def coords(a, b):
        return (a + 1, b) if strand == 0 else (length - b + 1, length - a)

    features, exons = [], []
    coding = 0
    exon = None
    for lab, a, b in runs:
        if lab == hmm.INTRON:
            if exon is not None:
                exons.append(coords(*exon))
                exon = None
            continue
        exon = (exon[0], b) if exon is not None else (a, b)
        phase = None
        if lab == hmm.CDS:
            phase = (3 - coding % 3) % 3
            coding += b - a
        features.append((_FEATURE[lab], *coords(a, b), phase))
    if exon is not None:
        exons.append(coords(*exon))
    lo = min(min(s, e) for _, s, e, _ in features)
    hi = max(max(s, e) for _, s, e, _ in features)
    return Gene(seq_index, "+-"[strand], lo, hi, features, exons)


# ---------------------------------------------------------------------------------------------------
# the whole run


@dataclass
class Result:
    genes: int = 0
    minus: int = 0  # genes on the minus strand
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((4, 4), np.int64))  # raw argmax x gene models
    regions: int = 0
    region_bases: int = 0


_LABEL_CLASS = np.array([0, 1, 2, 3, 1], np.int64)  # IG, UTR5, CDS, intron, UTR3 -> class


def _decode_region(region, inputs: Inputs, params: Params, model: hmm.Model, reader: "StrandReader", lock):
    si, strand, a, b = region
    sr = inputs.strands[si][strand]
    raw = np.empty(b - a, np.int8)

    def read(lo: int, hi: int):
        with lock:  # h5py serialises reads anyway; decoding runs without the GIL
            x, cls, ph = reader.span(sr, a + lo, a + hi)
        raw[lo:hi] = cls.argmax(axis=1)
        return hmm.penalties(x, cls, ph)

    labels = hmm.solve(read, b - a, model)
    genes, final = genes_of_region(labels, a, params)
    # confusion of this region: raw argmax vs the gene models (it was counted as intergenic before)
    conf = np.bincount(raw.astype(np.int64) * 4 + _LABEL_CLASS[final], minlength=16).reshape(4, 4)
    conf[:, 0] -= np.bincount(raw, minlength=4)
    return si, strand, [to_gene(runs, si, strand, inputs.lengths[si]) for runs in genes], conf, b - a


def run_post(inputs: Inputs, params: Params, result: Result, threads: int = 1,
             progress: bool = True) -> Iterator[list]:
    """Candidate regions of every strand, decoded in ``threads`` threads, into genes: yields each sequence's
    genes sorted (start, end, strand) once both its strands are decoded, so a genome's genes are never all
    in memory; ``result`` gathers the counts."""
    model = params.model()
    lock = threading.Lock()
    current: list = []  # genes of the sequence being decoded
    current_si = -1

    def sequence_done() -> list:
        current.sort(key=lambda gn: (gn.start, gn.end, gn.strand))
        result.genes += len(current)
        result.minus += sum(g.strand == "-" for g in current)
        return current

    with h5file(inputs.genome, "r") as g, h5file(inputs.predictions, "r") as p:
        reader = StrandReader(g, p)
        pending = deque()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            def drain(limit):  # in submission order: sequence by sequence, plus then minus strand
                nonlocal current, current_si
                while len(pending) > limit:
                    si, strand, genes, conf, n = pending.popleft().result()
                    if si != current_si:
                        if current:
                            yield sequence_done()
                        current, current_si = [], si
                    current += genes
                    result.confusion += conf
                    result.region_bases += n

            for si, strand, found, raw_counts in scan_regions(inputs, params, progress):
                result.confusion[:, 0] += raw_counts
                for a, b in found:
                    result.regions += 1
                    pending.append(pool.submit(_decode_region, (si, strand, a, b), inputs, params, model, reader, lock))
                    yield from drain(2 * threads)
            yield from drain(0)
    if current:
        yield sequence_done()


# ---------------------------------------------------------------------------------------------------
# GFF3 and the agreement table


def gff3_lines(inputs: Inputs, genes: Iterable[Gene], params: Params, names: Sequence[str] | None = None,
               argv: Sequence[str] = ()) -> Iterator[str]:
    """The GFF3 text: sorted by sequence (genome order) then start, both strands interleaved; the last line
    is ``###``, so that a copy cut off at a line boundary can be told from a whole file."""
    names = list(names or inputs.seqids)
    yield "##gff-version 3\n"
    for name, length in zip(names, inputs.lengths):
        yield f"##sequence-region {name} 1 {length}\n"
    yield (f"# helixer-post {__version__}: window {params.window_size}, edge {params.edge_threshold}, "
           f"peak {params.peak_threshold}, min coding {params.min_coding_length}, min intron "
           f"{params.min_intron_length}, min exon {params.min_exon_length}, min UTR {params.min_utr_length}\n")
    yield gff.END_NOTE
    if argv:
        yield f"# command: {' '.join(argv)}\n"
    if inputs.model_md5:
        yield f"# model md5sum {inputs.model_md5}\n"
    counters: dict[int, int] = {}
    seen: set[str] = set()
    for gene in genes:
        seqid = names[gene.seq_index]
        counters[gene.seq_index] = counters.get(gene.seq_index, 0) + 1
        gid = f"{inputs.species}_{seqid}_{counters[gene.seq_index]:06d}"
        if gid in seen:
            raise UserError(f"gene id {gid} would repeat; rename sequence {seqid}")
        seen.add(gid)
        tid = f"{gid}.1"
        rows = [(gene.start, 0, f"{seqid}\t{SOURCE}\tgene\t{gene.start}\t{gene.end}\t.\t{gene.strand}\t.\tID={gid}\n"),
                (gene.start, 1, f"{seqid}\t{SOURCE}\tmRNA\t{gene.start}\t{gene.end}\t.\t{gene.strand}\t.\t"
                                f"ID={tid};Parent={gid}\n")]
        for k, (s, e) in enumerate(gene.exons, 1):
            rows.append((s, 2, f"{seqid}\t{SOURCE}\texon\t{s}\t{e}\t.\t{gene.strand}\t.\tID={tid}.exon.{k};Parent={tid}\n"))
        counts: dict[str, int] = {}
        for kind, s, e, phase in gene.features:
            counts[kind] = counts.get(kind, 0) + 1
            ph = "." if phase is None else str(phase)
            rows.append((s, 3, f"{seqid}\t{SOURCE}\t{kind}\t{s}\t{e}\t.\t{gene.strand}\t{ph}\t"
                               f"ID={tid}.{kind}.{counts[kind]};Parent={tid}\n"))
        rows.sort(key=lambda r: (r[1] > 1, r[0], r[1]))
        for *_, line in rows:
            yield line
    yield gff.END_MARK  # the file is complete: a copy cut at a line boundary lacks it (chunks gather, evaluate)


def stats_rows(confusion: np.ndarray) -> list[dict]:
    """Per class: bases of that class in the raw predictions (argmax) and in the gene models, both,
    and the gene models' precision, recall and F1 against the raw predictions."""
    out = []
    for k, name in enumerate(CLASSES):
        raw = int(confusion[k].sum())
        gm = int(confusion[:, k].sum())
        both = int(confusion[k, k])
        prec = both / gm if gm else float("nan")
        rec = both / raw if raw else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if gm and raw and prec + rec else float("nan")
        out.append({"class": name, "raw_bases": raw, "gene_model_bases": gm, "agreeing_bases": both,
                    "precision": prec, "recall": rec, "f1": f1})
    total = int(confusion.sum())
    agree = int(np.trace(confusion))
    out.append({"class": "all", "raw_bases": total, "gene_model_bases": total, "agreeing_bases": agree,
                "precision": agree / total if total else float("nan"),
                "recall": agree / total if total else float("nan"),
                "f1": agree / total if total else float("nan")})
    return out


def write_stats(path, confusion: np.ndarray) -> None:
    rows = stats_rows(confusion)
    cols = list(rows[0])
    lines = ["\t".join(cols)]
    for r in rows:
        lines.append("\t".join(f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    Path(path).write_text("\n".join(lines) + "\n")


def full_names(fasta_path: str, seqids: Sequence[str], lengths: Sequence[int]) -> list[str]:
    """The genome FASTA's full sequence ids for the h5's (possibly truncated) ones, matched on the first
    50 characters and the length; names that would be the same after truncation are an error."""
    records = fasta.scan(fasta_path)
    by_prefix: dict[str, fasta.Record] = {}
    for r in records:
        key = r.seqid[:SEQID_BYTES]
        if key in by_prefix:
            raise UserError(f"{fasta_path}: sequence ids {by_prefix[key].seqid!r} and {r.seqid!r} share their first "
                            f"{SEQID_BYTES} characters, all an h5 file holds: their genome h5 rows cannot be told "
                            "apart; shorten or rename them and run fasta2h5 again")
        by_prefix[key] = r
    names = []
    for seqid, length in zip(seqids, lengths):
        r = by_prefix.get(seqid[:SEQID_BYTES])
        if r is None:
            raise UserError(f"{fasta_path}: no sequence named {seqid!r} (from the genome h5): another genome's FASTA?")
        if r.length != length:
            raise UserError(f"{fasta_path}: sequence {r.seqid} has {r.length} bases but {length} in the genome h5")
        names.append(gff3_seqid(r.seqid))
    return names


def renamed(path: str, seqids: Sequence[str]) -> list[str]:
    """The FASTA ids of the h5's, from the map helixer-fasta2h5 --rename-map wrote (h5_id, fasta_id): every id
    it names must be one of the genome h5's, each once, and no two may become one name."""
    mapping: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in fasta.text_lines(path, "rename map (TSV)"):
        cols = line.split("\t")
        if number == 1 and cols == ["h5_id", "fasta_id"]:
            continue
        if not line.strip():
            continue
        if len(cols) != 2 or not all(c.strip() for c in cols):
            raise UserError(f"{path}: line {number}: expected two tab-separated columns, h5_id and fasta_id "
                            "(the map helixer-fasta2h5 --rename-map writes)")
        if cols[0] in mapping:
            raise UserError(f"{path}: line {number}: {cols[0]!r} is renamed twice (also on line {lines[cols[0]]})")
        mapping[cols[0]], lines[cols[0]] = cols[1], number
    known = set(seqids)
    unknown = [k for k in mapping if k not in known]
    if unknown:
        raise UserError(f"{path}: names {len(unknown)} sequence(s) the genome h5 does not have, e.g. {unknown[0]!r} "
                        f"(line {lines[unknown[0]]}): the map of another genome?")
    names = [mapping.get(s, s) for s in seqids]
    seen: dict[str, str] = {}
    for s, n in zip(seqids, names):
        if n in seen and seen[n] != s:
            raise UserError(f"{path}: {seen[n]!r} and {s!r} would both be named {n!r}")
        seen[n] = s
    return [gff3_seqid(mapping[s]) if s in mapping else s for s in seqids]


def gff3_seqid(name: str) -> str:
    """A sequence name as GFF3's first column and ##sequence-region hold it: GFF3's reserved characters and
    whitespace percent-encoded."""
    return gff.escape(name, ";=&,%\t\n\r ")


def annotate(genome: str, predictions: str, output: str, params: Params, stats: str | None = None,
             fasta_path: str | None = None, padding: str | None = None, threads: int = 1,
             rename_map: str | None = None, argv: Sequence[str] = (), progress: bool = True) -> Result:
    """helixer-post: gene models of ``predictions`` on ``genome`` written to ``output`` (GFF3), and the
    agreement table to ``stats``; both appear together or not at all."""
    inputs = open_inputs(genome, predictions, padding)
    if rename_map:
        names = renamed(rename_map, inputs.seqids)
    elif fasta_path:
        names = full_names(fasta_path, inputs.seqids, inputs.lengths)
    else:
        names = list(inputs.seqids)
    long_ids = [s for s in inputs.seqids if len(s) == SEQID_BYTES]
    if long_ids and not (fasta_path or rename_map):
        log.warning("%d sequence id(s) are %d characters long, e.g. %s: they may have been shortened; give "
                    "--rename-map (helixer-fasta2h5's) or --fasta for the full names", len(long_ids), SEQID_BYTES,
                    long_ids[0])
    result = Result()
    with atomic_path(output) as tmp_gff, contextlib.ExitStack() as stack:
        tmp_stats = stack.enter_context(atomic_path(stats)) if stats else None
        with open(tmp_gff, "w") as fh:  # written sequence by sequence, as they are decoded
            genes = (gene for sequence in run_post(inputs, params, result, threads, progress) for gene in sequence)
            fh.writelines(gff3_lines(inputs, genes, params, names, argv))
        if tmp_stats is not None:
            write_stats(tmp_stats, result.confusion)
    bases = 2 * sum(inputs.lengths)
    log.info("%d genes (%d on the plus, %d on the minus strand) from %d candidate regions covering %.1f%% of the "
             "genome's bases (both strands) -> %s", result.genes, result.genes - result.minus, result.minus,
             result.regions, 100.0 * result.region_bases / bases if bases else 0.0, output)
    if not result.genes:
        log.warning("no gene models: the predictions have no region whose genic probability passes the peak "
                    "threshold %.2f (a model for another lineage, or an intergenic stretch?)", params.peak_threshold)
    agree = stats_rows(result.confusion)[-1]["precision"]
    log.info("gene models agree with the raw predictions on %.1f%% of the bases", 100.0 * agree)
    return result
