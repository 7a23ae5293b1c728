"""Gene-level evaluation: predicted gene models (GFF3) against reference gene models (GFF3).

Levels, each with sensitivity (found reference features / reference features), precision (correct
predicted features / predicted features) and F1:

- **coding gene**, **coding transcript** (the headline, as BRAKER and Tiberius report gene models): a
  transcript is right when its CDS exons, all of them, are a reference transcript's (same sequence and
  strand); a gene when one of its transcripts is. UTRs do not count, so these levels say how many proteins
  a model gets right, which is what separates models that never place a UTR end exactly;
- **gene**: a predicted gene is correct when an unmatched reference gene has its sequence, strand, start
  and end, and every mRNA of the one with fewer mRNAs has the exons of an mRNA of the other (all of them
  when the numbers are equal). That is GenomeTools ``gt eval``'s rule, except that ``gt eval`` does not
  look at the exons at all when the numbers differ (a 2-isoform gene is "found" by any 1-mRNA gene of its
  span); here one isoform must be right;
- **transcript**: a predicted mRNA is correct when an unmatched reference mRNA has its span, strand and
  exons (``gt eval``'s mRNA level);
- **exon**, **CDS exon**, **intron**: distinct features (sequence, strand, start, end) found in both
  (``gt eval``'s collapsed exon levels at mRNA and CDS level; introns lie between a transcript's exons);
- **intron chain**: a multi-exon transcript whose introns, all of them, are those of a transcript in
  the other file (gffcompare's intron chain level);
- **exon bases**, **CDS bases**: bases inside exons (or CDS) of the same strand in both
  (``gt eval``'s nucleotide levels).

Transcripts are the ``mRNA`` features, and features of another type that have CDS children (files that
call coding transcripts ``transcript``); their exons are their ``exon`` children, or, without any, their
CDS and UTR children joined. Genes are the transcripts' parents; a transcript without one is a gene of
its own. Genes without coding transcripts (non-coding RNA) and pseudogenes and transposable element genes
(by type or biotype, as training masks them) are not counted: Helixer does not predict them. With regions (a BED file, or an h5 whose rows' spans are the regions, e.g. held-out
validation data), only genes lying wholly inside one region are compared, in both files.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import UserError
from .fasta import open_binary
from .gff import (UTR_TYPES, Irregular, Linked, SequenceSpill, from_gtf, link, mask_reason, merge, overlap, read_rows,
                  sequence_runs)

log = logging.getLogger("helixer_tools")

LEVELS = (("coding_gene", "genes (CDS)"), ("coding_transcript", "mRNAs (CDS)"), ("gene", "genes"), ("transcript", "mRNAs"), ("exon", "exons"), ("cds_exon", "CDS exons"),
          ("intron", "introns"), ("intron_chain", "intron chains"), ("exon_bases", "exon bases"),
          ("cds_bases", "CDS bases"))

Interval = tuple[int, int]  # 1-based, inclusive


@dataclass(frozen=True)
class Transcript:
    seqid: str
    strand: str
    start: int
    end: int
    exons: tuple[Interval, ...]
    cds: tuple[Interval, ...]

    @property
    def introns(self) -> tuple[Interval, ...]:
        return tuple((a[1] + 1, b[0] - 1) for a, b in zip(self.exons, self.exons[1:]) if b[0] > a[1] + 1)


@dataclass
class Gene:
    seqid: str
    strand: str
    start: int
    end: int
    transcripts: list[Transcript] = field(default_factory=list)


@dataclass
class Annotation:
    path: str
    genes: list[Gene]
    masked: int = 0  # pseudogenes and transposable element genes with mRNAs, not counted


def _genes_of(path, rows, fmt: str) -> tuple[tuple[list[Gene], int], Linked]:
    """The coding gene models among ``rows`` and the number of masked genes; the rows as linked (their links
    undone again)."""
    if fmt == "gtf":
        rows = from_gtf(path, rows, Counter())
    linked = link(path, rows)
    try:
        return _genes_linked(linked), linked
    finally:
        for r in (*linked.rows, *linked.roots):  # parent <-> children cycles would wait for the cyclic collector
            r.children, r.parent = [], None


def _genes_linked(linked) -> tuple[list[Gene], int]:
    genes: dict[int, Gene] = {}  # id(gene row) -> Gene, in the order of their first coding transcript
    masked: dict[int, bool] = {}
    for r in linked.rows:
        kids = r.children
        if not linked.roles.transcript(r) or (r.ftype != "mRNA" and not any(k.ftype == "CDS" for k in kids)):
            continue
        gene_row = r.parent
        if id(gene_row) not in masked:
            masked[id(gene_row)] = bool(mask_reason(gene_row))
        if masked[id(gene_row)]:
            continue
        exons = tuple(merge((k.start, k.end) for k in kids if k.ftype == "exon"))
        if not exons:
            exons = tuple(merge((k.start, k.end) for k in kids if k.ftype == "CDS" or k.ftype in UTR_TYPES))
        if not exons:
            continue  # an mRNA without parts cannot be compared
        t = Transcript(r.seqid, r.strand, r.start, r.end, exons, tuple(merge((k.start, k.end) for k in kids if k.ftype == "CDS")))
        g = genes.get(id(gene_row))
        if g is None:
            a, b = linked.spans.get(gene_row.ident, (gene_row.start, gene_row.end))
            g = genes[id(gene_row)] = Gene(gene_row.seqid, gene_row.strand, a, b)
        g.transcripts.append(t)
    return list(genes.values()), sum(masked.values())


def _by_runs(path) -> Iterator[tuple[list[Gene], int]]:
    """Genes per run of rows on one sequence, each run linked alone (:func:`helixer_tools.gff.sequence_runs`)."""
    found: dict[str, str] = {}
    return sequence_runs(path, lambda run: _genes_of(path, run, found.get("format", "gff3")), complete=True,
                         stop_at_fasta=True, found=found)


def read_gff3(path: str | Path) -> Annotation:
    """The coding gene models of a GFF3 (or GTF) file, plain or compressed, read and linked by the rules
    import2geenuff applies (:func:`helixer_tools.gff.link`), so both accept and refuse the same files."""
    with GeneStore(path) as store:
        return Annotation(str(path), [g for seqid in store.seqids for g in store.genes(seqid)], store.masked)


class GeneStore:
    """A GFF3's coding gene models kept on disk by sequence (:class:`helixer_tools.gff.SequenceSpill`), read
    back one sequence at a time: evaluating a plant genome holds one sequence's genes in memory, not the genome's."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.spill = SequenceSpill()
        self.masked = 0
        try:
            self._fill(_by_runs(path))
        except Irregular:  # links across sequences: the whole file, then as before one sequence at a time
            self.spill.clear()
            self.masked = 0
            rows, fmt = read_rows(path, complete=True, stop_at_fasta=True)
            whole, _ = _genes_of(path, rows, fmt)
            del rows
            self._fill([whole])
        except BaseException:
            self.spill.close()
            raise

    def _fill(self, runs) -> None:
        for genes, masked in runs:
            self.masked += masked
            self.spill.add(genes, lambda g: g.seqid)

    @property
    def seqids(self) -> list[str]:
        return self.spill.seqids

    def genes(self, seqid: str) -> list[Gene]:
        return self.spill.get(seqid)

    def __enter__(self) -> "GeneStore":
        return self

    def __exit__(self, *exc) -> None:
        self.spill.close()


def within_genes(genes: list[Gene], regions: dict[str, list[Interval]] | None) -> list[Gene]:
    """The genes wholly inside one of the regions (1-based, inclusive, sorted per sequence); all without."""
    if regions is None:
        return genes
    import bisect

    kept = []
    for g in genes:
        spans = regions.get(g.seqid)
        if not spans:
            continue
        i = bisect.bisect_right(spans, (g.start, float("inf"))) - 1
        if i >= 0 and spans[i][0] <= g.start and g.end <= spans[i][1]:
            kept.append(g)
    return kept


@dataclass
class Level:
    """One level's counts: reference features found, of all; predicted features correct, of all."""

    found: int
    reference: int
    correct: int
    predicted: int

    @property
    def sensitivity(self) -> float:
        return self.found / self.reference if self.reference else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def f1(self) -> float:
        s, p = self.sensitivity, self.precision
        return 2 * s * p / (s + p) if s + p else 0.0


def _same_chains(a: Gene, b: Gene) -> bool:
    """Every mRNA of the gene with fewer mRNAs is one of the other's (exon chains; all when equal in number)."""
    fewer, more = sorted((Counter(t.exons for t in g.transcripts) for g in (a, b)), key=lambda c: c.total())
    return not fewer - more


def _distinct(genes: Sequence[Gene], what) -> set:
    return {(t.seqid, t.strand, *x) for g in genes for t in g.transcripts for x in what(t)}


def _sets(found: set, ref: set, pred: set) -> Level:
    return Level(len(found), len(ref), len(found), len(pred))


def _bases(genes: Sequence[Gene], what) -> dict[tuple[str, str], tuple[Interval, ...]]:
    per: dict[tuple[str, str], list[Interval]] = defaultdict(list)
    for g in genes:
        for t in g.transcripts:
            per[(t.seqid, t.strand)].extend(what(t))
    return {k: tuple(merge(v)) for k, v in per.items()}


def _base_level(ref: Sequence[Gene], pred: Sequence[Gene], what) -> Level:
    r, p = _bases(ref, what), _bases(pred, what)
    both = sum(overlap(v, p[k]) for k, v in r.items() if k in p)
    size = lambda d: sum(b - a + 1 for v in d.values() for a, b in v)  # noqa: E731
    return Level(both, size(r), both, size(p))


def compare(ref: Sequence[Gene], pred: Sequence[Gene]) -> dict[str, Level]:
    """Every level of :data:`LEVELS` for predicted genes against reference genes."""
    by_span: dict[tuple, list[int]] = defaultdict(list)
    for i, g in enumerate(ref):
        by_span[(g.seqid, g.strand, g.start, g.end)].append(i)
    matched: set[int] = set()
    for g in pred:
        for i in by_span.get((g.seqid, g.strand, g.start, g.end), ()):
            if i not in matched and _same_chains(g, ref[i]):
                matched.add(i)
                break
    levels = {**_coding_levels(ref, pred), "gene": Level(len(matched), len(ref), len(matched), len(pred))}

    key = lambda t: (t.seqid, t.strand, t.start, t.end, t.exons)  # noqa: E731
    r_t = Counter(key(t) for g in ref for t in g.transcripts)
    p_t = Counter(key(t) for g in pred for t in g.transcripts)
    hits = sum(min(n, p_t[k]) for k, n in r_t.items())
    levels["transcript"] = Level(hits, sum(r_t.values()), hits, sum(p_t.values()))

    for name, what in (("exon", lambda t: t.exons), ("cds_exon", lambda t: t.cds), ("intron", lambda t: t.introns)):
        r, p = _distinct(ref, what), _distinct(pred, what)
        levels[name] = _sets(r & p, r, p)

    chain = lambda t: (t.seqid, t.strand, t.introns)  # noqa: E731
    r_c = [chain(t) for g in ref for t in g.transcripts if len(t.exons) > 1]
    p_c = [chain(t) for g in pred for t in g.transcripts if len(t.exons) > 1]
    r_set, p_set = set(r_c), set(p_c)
    levels["intron_chain"] = Level(sum(c in p_set for c in r_c), len(r_c), sum(c in r_set for c in p_c), len(p_c))

    levels["exon_bases"] = _base_level(ref, pred, lambda t: t.exons)
    levels["cds_bases"] = _base_level(ref, pred, lambda t: t.cds)
    return levels


def _coding_levels(ref: Sequence[Gene], pred: Sequence[Gene]) -> dict[str, Level]:
    """Coding transcript and gene levels: transcripts match by their CDS exon chains alone."""
    chain = lambda t: (t.seqid, t.strand, t.cds)  # noqa: E731
    ref_chains = {chain(t) for g in ref for t in g.transcripts if t.cds}
    pred_chains = {chain(t) for g in pred for t in g.transcripts if t.cds}
    levels = {}
    r_t = [chain(t) for g in ref for t in g.transcripts if t.cds]
    p_t = [chain(t) for g in pred for t in g.transcripts if t.cds]
    levels["coding_transcript"] = Level(sum(c in pred_chains for c in r_t), len(r_t),
                                        sum(c in ref_chains for c in p_t), len(p_t))
    found = sum(any(chain(t) in pred_chains for t in g.transcripts) for g in ref)
    correct = sum(any(chain(t) in ref_chains for t in g.transcripts) for g in pred)
    levels["coding_gene"] = Level(found, len(ref), correct, len(pred))
    return levels


def _cds_length(g: Gene) -> int:
    """The longest coding sequence of a gene's transcripts, in bp."""
    return max((sum(b - a + 1 for a, b in t.cds) for t in g.transcripts), default=0)


def _overlaps(ref: Sequence[Gene], pred: Sequence[Gene]) -> tuple[list[int], list[int]]:
    """For each reference gene the number of predicted genes whose CDS overlaps its CDS on the same strand,
    and for each predicted gene the number of reference genes (a sweep over CDS spans per sequence/strand)."""
    spans = defaultdict(list)  # (seqid, strand) -> (start, end, side, index)
    for side, genes in enumerate((ref, pred)):
        for i, g in enumerate(genes):
            cds = tuple(merge(x for t in g.transcripts for x in t.cds))
            if cds:
                spans[(g.seqid, g.strand)].append((cds[0][0], cds[-1][1], side, i, cds))
    counts = ([0] * len(ref), [0] * len(pred))
    for items in spans.values():
        items.sort(key=lambda x: x[0])
        active: list[tuple] = []
        for item in items:
            active = [a for a in active if a[1] >= item[0]]
            for a in active:
                if a[2] != item[2] and overlap(a[4], item[4]):
                    counts[a[2]][a[3]] += 1
                    counts[item[2]][item[3]] += 1
            active.append(item)
    return counts


def gene_model_stats(ref: Sequence[Gene], pred: Sequence[Gene]) -> dict[str, float]:
    """Counts and sizes that show fragments and fusions: genes, median gene and CDS length, reference genes
    split over several predicted genes, predicted genes merging several reference genes, reference genes
    with no predicted CDS at all."""
    import statistics

    med = lambda values: float(statistics.median(values)) if values else 0.0  # noqa: E731
    per_ref, per_pred = _overlaps(ref, pred)
    return {"reference_genes": float(len(ref)), "predicted_genes": float(len(pred)),
            "reference_median_gene_length": med([g.end - g.start + 1 for g in ref]),
            "predicted_median_gene_length": med([g.end - g.start + 1 for g in pred]),
            "reference_median_cds_length": med([_cds_length(g) for g in ref]),
            "predicted_median_cds_length": med([_cds_length(g) for g in pred]),
            "reference_genes_split": float(sum(n > 1 for n in per_ref)),
            "predicted_genes_merged": float(sum(n > 1 for n in per_pred)),
            "reference_genes_missed": float(sum(n == 0 for n in per_ref))}


STATS = (("reference_genes", "reference genes"), ("predicted_genes", "predicted genes"),
         ("reference_median_gene_length", "reference median gene length (bp)"),
         ("predicted_median_gene_length", "predicted median gene length (bp)"),
         ("reference_median_cds_length", "reference median CDS length (bp)"),
         ("predicted_median_cds_length", "predicted median CDS length (bp)"),
         ("reference_genes_split", "reference genes split (CDS over several predicted genes)"),
         ("predicted_genes_merged", "predicted genes merging several reference genes"),
         ("reference_genes_missed", "reference genes without any predicted CDS"))


@dataclass
class GeneEvaluation:
    name: str
    path: str
    levels: dict[str, Level]
    genes: int  # predicted genes compared
    stats: dict[str, float] = field(default_factory=dict)  # gene_model_stats

    def summary(self) -> dict[str, float]:
        out = {}
        for level, _ in LEVELS:
            lv = self.levels[level]
            out[f"{level}_sensitivity"] = lv.sensitivity
            out[f"{level}_precision"] = lv.precision
            out[f"{level}_f1"] = lv.f1
        return {**out, **self.stats}


def regions_of(path: str) -> dict[str, list[Interval]]:
    """Regions from a BED file (0-based, half-open) or from an h5's rows (their spans), joined per sequence."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise UserError(f"{path}: cannot open: {e.strerror}") from None
    spans: dict[str, list[Interval]] = defaultdict(list)
    if head == b"\x89HDF\r\n\x1a\n":
        from .h5io import open_h5, read_all

        with open_h5(path) as f:
            if "data/seqids" not in f or "data/start_ends" not in f:
                raise UserError(f"{path}: has no data/seqids and data/start_ends to take regions from")
            for s, (a, b) in zip(read_all(f["data/seqids"]), read_all(f["data/start_ends"])):
                seqid = s.decode() if isinstance(s, bytes) else str(s)
                spans[seqid].append((min(int(a), int(b)) + 1, max(int(a), int(b))))
    else:
        with open_binary(path) as fh:
            for number, raw in enumerate(fh, 1):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                cols = line.split("\t")
                try:
                    a, b = int(cols[1]), int(cols[2])
                except (IndexError, ValueError):
                    raise UserError(f"{path}: line {number}: not BED (sequence, start, end, tab-separated)") from None
                if a < 0 or b <= a:
                    raise UserError(f"{path}: line {number}: start {a} and end {b} are not a BED range")
                spans[cols[0]].append((a + 1, b))
    if not spans:
        raise UserError(f"{path}: holds no regions")
    return {k: merge(v) for k, v in spans.items()}


def _add(levels: dict[str, Level] | None, more: dict[str, Level]) -> dict[str, Level]:
    if levels is None:
        return more
    return {k: Level(v.found + more[k].found, v.reference + more[k].reference, v.correct + more[k].correct,
                     v.predicted + more[k].predicted) for k, v in levels.items()}


def _stats(parts: list[dict]) -> dict[str, float]:
    """:func:`gene_model_stats` of the whole genome from its per-sequence parts (counts add; medians of all)."""
    import statistics

    med = lambda values: float(statistics.median(values.tolist())) if len(values) else 0.0  # noqa: E731
    total = lambda key: float(sum(p[key] for p in parts))  # noqa: E731
    lengths = lambda key: np.concatenate([p[key] for p in parts]) if parts else np.empty(0)  # noqa: E731
    return {"reference_genes": total("reference_genes"), "predicted_genes": total("predicted_genes"),
            "reference_median_gene_length": med(lengths("ref_gene_lengths")),
            "predicted_median_gene_length": med(lengths("pred_gene_lengths")),
            "reference_median_cds_length": med(lengths("ref_cds_lengths")),
            "predicted_median_cds_length": med(lengths("pred_cds_lengths")),
            "reference_genes_split": total("reference_genes_split"),
            "predicted_genes_merged": total("predicted_genes_merged"),
            "reference_genes_missed": total("reference_genes_missed")}


def _stat_part(ref: Sequence[Gene], pred: Sequence[Gene]) -> dict:
    per_ref, per_pred = _overlaps(ref, pred)
    return {"reference_genes": len(ref), "predicted_genes": len(pred),
            "ref_gene_lengths": np.array([g.end - g.start + 1 for g in ref], np.int64),
            "pred_gene_lengths": np.array([g.end - g.start + 1 for g in pred], np.int64),
            "ref_cds_lengths": np.array([_cds_length(g) for g in ref], np.int64),
            "pred_cds_lengths": np.array([_cds_length(g) for g in pred], np.int64),
            "reference_genes_split": sum(n > 1 for n in per_ref), "predicted_genes_merged": sum(n > 1 for n in per_pred),
            "reference_genes_missed": sum(n == 0 for n in per_ref)}


def evaluate_gff3(reference: str, predictions: Sequence[str], names: Sequence[str],
                  regions: str | None = None) -> list[GeneEvaluation]:
    """Each predicted GFF3 against the reference, on the genes inside ``regions`` (all without), one sequence at
    a time (the genes of both files wait on disk, :class:`GeneStore`): the same counts as the whole files
    compared at once, every level being a sum over sequences."""
    spans = regions_of(regions) if regions else None
    with GeneStore(reference) as ref_store:
        ref_seqids = set(ref_store.seqids)
        counts = [(len(gs), len(within_genes(gs, spans))) for gs in map(ref_store.genes, ref_store.seqids)]
        n_all, n_ref = (sum(c) for c in zip(*counts)) if counts else (0, 0)
        if not ref_seqids:
            raise UserError(f"{reference}: has no coding gene models (mRNAs with exons or CDS) to compare with")
        if not n_ref:
            raise UserError(f"{reference}: none of its {n_all} coding genes lies inside the regions of {regions}")
        results = []
        for name, path in zip(names, predictions):
            with GeneStore(path) as store:
                seqids = set(store.seqids)
                if seqids and not seqids & ref_seqids:
                    raise UserError(f"{path}: none of its sequences ({', '.join(sorted(seqids)[:3])}) is in "
                                    f"{reference} ({', '.join(sorted(ref_seqids)[:3])}); predictions of another genome?")
                levels, parts, compared = None, [], 0
                for seqid in dict.fromkeys([*ref_store.seqids, *store.seqids]):
                    ref = within_genes(ref_store.genes(seqid), spans)
                    pred = within_genes(store.genes(seqid), spans)
                    levels = _add(levels, compare(ref, pred))
                    parts.append(_stat_part(ref, pred))
                    compared += len(pred)
            results.append(GeneEvaluation(name, path, levels, compared, _stats(parts)))
            ref_seqids |= seqids
    unknown = sorted(set(spans or ()) - ref_seqids)
    if unknown:
        log.warning("%s: %d of its sequences (%s) have no gene in %s nor in the predictions: not counted; the "
                    "regions of another assembly, or sequences named otherwise?", regions, len(unknown),
                    ", ".join(unknown[:3]) + (", ..." if len(unknown) > 3 else ""), reference)
    log.info("gene level: %d reference genes%s", n_ref, f" inside the regions of {regions}" if regions else "")
    return results
