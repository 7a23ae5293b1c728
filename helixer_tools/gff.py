"""Gene models as databases publish them (GFF3 or GTF) -> the canonical GFF3 GeenuFF imports correctly.

GeenuFF groups features by their order in the file and by nesting, not by ``Parent``. Files that nest
differently import silently wrong: an ENA/EMBL submission lists every exon (and intron) a second time as
children of the gene, GeenuFF sees overlapping exons and masks every gene. This module reads the file
(a run of rows on one sequence at a time where the runs stand alone, see :func:`canonical_by_sequence`),
checks it (each problem an error naming the line), builds the hierarchy from ``ID``/``Parent`` and
writes it back gene by gene, each followed by its transcripts and their parts, depth first in file order.

Only what GeenuFF would get wrong is changed; a file already nested this way (RefSeq, Phytozome, Ensembl
GFF3) comes out line for line as it went in, minus the rows listed under "dropped" below. Every change
is counted for the import summary:

- dropped: exons, introns and CDS listed under a gene that has transcripts (they repeat the
  transcripts' own); all ``intron``, ``start_codon`` and ``stop_codon`` rows (GeenuFF derives introns,
  and start and stop codons from the CDS); sequence-level rows (``region``, ``chromosome``, ...) and
  other features that are not part of a gene model (``biological_region``, repeats, ...);
- added: a gene for each transcript without one, in files without genes or when a ``gene_id``/``geneID``
  attribute names it (transcripts naming the same gene share it); exons for transcripts given only as
  CDS (and UTR) rows;
- split: an exon or CDS with several parents (``Parent=t1,t2``) becomes one row per transcript;
- checked: UTR rows against exon minus CDS (disagreements counted);
- masked: pseudogenes and transposable element genes (by type or biotype), genes with a ``pseudo=true``
  part and immune receptor genes (V/D/J/C gene segments) go to GeenuFF as they are, and their spans are listed for training to ignore
  (sample weight 0) rather than learn them as intergenic.

GTF (Ensembl, GENCODE, StringTie) is read as the same hierarchy: ``gene_id`` groups transcripts,
``transcript_id`` groups exons and CDS, and the stop codon, which GTF's CDS rows leave out, is added to
the CDS as GFF3 has it.
"""

from __future__ import annotations

import pickle
import re
import tempfile
from sys import intern
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import UserError
from .fasta import text_lines

PART_DROPPED = {"intron": "derived by GeenuFF", "start_codon": "derived from the CDS",
                "stop_codon": "derived from the CDS"}
SEQUENCE_LEVEL = {"region", "chromosome", "supercontig", "contig", "scaffold", "sequence_feature", "assembly",
                  "biological_region", "gap"}
# genes kept for GeenuFF as they are but masked in training (sample weight 0), not called intergenic:
# their sequence looks genic, and a model should not learn that it is not
MASKED_GENE_TYPES = {"pseudogene": "pseudogene", "transposable_element_gene": "transposable element gene"}
MASKED_BIOTYPES = ("pseudogene", "transposable_element", "TEC")
GTF_KEPT = ("gene_name", "transcript_name", "gene_biotype", "transcript_biotype", "gene_type", "transcript_type")
UTR_TYPES = {"five_prime_UTR", "three_prime_UTR", "five_prime_utr", "three_prime_utr", "UTR"}
# GFF3's "every feature above is complete" directive: helixer-post's last line, so a copy cut off at a line
# boundary can be told from a whole file
END_MARK = "###\n"
END_NOTE = "# the last line is ###: a copy without it was cut off\n"  # in the header of files that end so
# types real files use for a Sequence Ontology term GeenuFF knows under its SO name (NCBI RefSeq writes both
# lncRNA and lnc_RNA; GFF3s converted from GTF write unconfirmed_transcript)
TYPE_SYNONYMS = {"lncRNA": "lnc_RNA", "unconfirmed_transcript": "transcript"}


@dataclass(eq=False, slots=True)
class Row:
    """One feature line."""

    line: int
    cols: list[str]  # the nine columns as read
    ftype: str
    seqid: str
    start: int
    end: int
    strand: str
    ident: str  # ID ('' when none)
    parents: tuple[str, ...]
    attrs: dict[str, str]  # GFF3: values as written (escaped); GTF: values as meant
    verbatim: bool  # written as it was read (False: made or changed here, written from the columns)
    children: list["Row"] = field(default_factory=list)
    parent: "Row | None" = None  # set by link(): the row of its (last) Parent; a transcript has one
    gtf: bool = False
    read_as: str = ""  # the type as the file wrote it, where it was a synonym (TYPE_SYNONYMS)

    @property
    def text(self) -> str | None:
        """The original line (its columns joined again: a file's rows are not kept twice); None when changed."""
        return "\t".join(self.cols) if self.verbatim else None

    @text.setter
    def text(self, value: None) -> None:
        assert value is None, "a row's text is only ever dropped"
        self.verbatim = False


def gff3_attributes(text: str) -> dict[str, str]:
    """The attributes as written; keys and values interned: a gene's parts repeat most of its values (RefSeq:
    Dbxref, gene, product, ...), and a plant chromosome's rows are held while they are checked."""
    attrs = {}
    for item in text.split(";"):
        if "=" in item:
            key, _, value = item.strip().partition("=")
            attrs[intern(key)] = intern(value)
    return attrs


_GTF_ATTR = re.compile(r'\s*([^\s;]+)\s+(?:"([^"]*)"|([^;\s]+))\s*;?')


def _gtf_attributes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _GTF_ATTR.finditer(text)}


def looks_like_gtf(attributes: str) -> bool:
    """GTF's ``gene_id "g1"; transcript_id "t1";`` rather than GFF3's ``ID=t1;Parent=g1``."""
    first = attributes.strip().split(";")[0].strip()
    return "=" not in first and " " in first and first.split(" ", 1)[1].startswith('"')


@dataclass
class Types:
    """Feature types by role, from GeenuFF's Sequence Ontology lists."""

    known: set[str]
    genes: set[str]
    transcripts: set[str]
    parts: set[str]  # exon, CDS, UTR, ... kinds


def read_rows(path: str | Path, lengths: dict[str, int] | None = None, types: Types | None = None, *,
              complete: bool = False, stop_at_fasta: bool = False) -> tuple[list[Row], str]:
    """Every feature line, checked one by one; the format ('gff3' or 'gtf') is told by the attributes.

    ``lengths`` (the FASTA's): sequences and ends are checked against them; ``types`` (GeenuFF's): feature
    types must be known ones. ``complete``: a file cut off is an error: mid-line, or at a line boundary where
    the file marks its end (helixer-post's GFF3, by :data:`END_NOTE`; files with ``###`` between genes). ``stop_at_fasta``: an
    embedded ``##FASTA`` section ends the features (otherwise it is an error)."""
    found: dict[str, str] = {}
    rows = list(iter_rows(path, lengths, types, complete=complete, stop_at_fasta=stop_at_fasta, found=found))
    return rows, found.get("format", "gff3")


def iter_rows(path: str | Path, lengths: dict[str, int] | None = None, types: Types | None = None, *,
              complete: bool = False, stop_at_fasta: bool = False, found: dict | None = None) -> Iterator[Row]:
    """:func:`read_rows` one row at a time (the file-wide checks run when it is exhausted); ``found["format"]``
    is set at the first feature line."""
    found = {} if found is None else found
    rows = 0
    fmt = None
    closed = marked = False  # the last line is '###'; the file says its last line will be one
    declared = False  # a '##gff-version' line: a GFF3 even without features (a model that called no genes)
    for number, line in text_lines(path, "GFF3", complete=complete):
        if line.startswith("##gff-version"):
            declared = True
        if line.startswith("###"):
            closed = marked = True
            continue
        if line.strip():
            closed = False
        if line.startswith("##FASTA"):
            closed = True  # what follows is sequence
            if stop_at_fasta:
                break
            raise UserError(f"{path}: line {number}: an embedded ##FASTA section is not supported; "
                            "give the sequences as a separate FASTA file")
        if line == END_NOTE[:-1]:
            marked = True
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 9:
            raise UserError(f"{path}: line {number}: expected 9 tab-separated columns, found {len(cols)} "
                            "(is this a GFF3 file?)")
        cols[:3] = map(intern, cols[:3])  # sequence name, source and type: each held once
        seqid, _, ftype, start, end, _, strand, phase, attributes = cols
        kind = "gff3" if "=" in attributes.split(";", 1)[0] or not looks_like_gtf(attributes) else "gtf"
        if fmt is None:
            fmt = found["format"] = kind
        elif kind != fmt and attributes.strip():
            raise UserError(f"{path}: line {number}: {kind.upper()} attributes in a {fmt.upper()} file")
        if not (start.isdigit() and end.isdigit()) or int(start) > int(end) or int(start) < 1:
            raise UserError(f"{path}: line {number}: start {start!r} and end {end!r} are not 1-based "
                            "coordinates with start <= end")
        if strand not in ("+", "-", ".", "?"):
            raise UserError(f"{path}: line {number}: strand {strand!r} is not '+', '-' or '.'")
        if phase not in (".", "0", "1", "2"):
            raise UserError(f"{path}: line {number}: phase {phase!r} is not '.', 0, 1 or 2")
        a, b = int(start), int(end)
        if lengths is not None and seqid not in lengths:
            raise UserError(f"{path}: line {number}: sequence {seqid!r} is not in the FASTA")
        if lengths is not None and b > lengths[seqid]:
            raise UserError(f"{path}: line {number}: {ftype} ends at {b}, past the end of {seqid} "
                            f"({lengths[seqid]} bp in the FASTA); is this the annotation of another assembly?")
        if kind == "gtf":
            attrs = _gtf_attributes(attributes)
            ident, parents = "", ()
        else:
            read_as = ""
            if types is not None and ftype not in types.known and TYPE_SYNONYMS.get(ftype) in types.known:
                read_as, ftype = ftype, TYPE_SYNONYMS[ftype]
                cols = cols[:2] + [ftype] + cols[3:]
            if types is not None and ftype not in types.known:
                raise UserError(f"{path}: line {number}: unknown feature type {ftype!r}; GeenuFF needs Sequence "
                                "Ontology types (gene, mRNA, exon, CDS, ...)")
            attrs = gff3_attributes(attributes)
            ident, parents = attrs.get("ID", ""), tuple(p for p in attrs.get("Parent", "").split(",") if p)
        rows += 1
        yield Row(number, cols, ftype, seqid, a, b, strand, ident, parents, attrs,
                  not (kind == "gff3" and read_as), gtf=kind == "gtf", read_as=read_as if kind == "gff3" else "")
    if complete and marked and not closed:
        raise UserError(f"{path}: does not end with the closing '###' line its header (or the '###' between its "
                        "genes) promises: cut off (a full disk, an interrupted copy)?")
    if not rows and not declared:
        raise UserError(f"{path}: no features found (is this a GFF3 file?)")


@dataclass
class Canonical:
    """The canonical GFF3 lines and what was changed to get them."""

    lines: list[str]
    input_types: Counter
    dropped: Counter  # (type, reason) -> rows
    added: Counter  # (type, reason) -> rows
    genes: int = 0
    transcripts: int = 0
    utr_disagreements: int = 0
    renamed: Counter = field(default_factory=Counter)  # (type, reason) -> rows given an ID of their own
    format: str = "gff3"
    masked: list[tuple[str, int, int, str, str]] = field(default_factory=list)  # seqid, start0, end, strand, why
    masked_ids: dict[str, str] = field(default_factory=dict)  # ID of each masked gene -> why

    def absorb(self, other: "Canonical") -> None:
        """Add the counts of another part of the file (its lines are not taken)."""
        for name in ("input_types", "dropped", "added", "renamed"):
            getattr(self, name).update(getattr(other, name))
        self.genes += other.genes
        self.transcripts += other.transcripts
        self.utr_disagreements += other.utr_disagreements
        self.masked += other.masked
        self.masked_ids |= other.masked_ids


def canonical(path: str | Path, lengths: dict[str, int], types: Types) -> Canonical:
    """Read, check and rewrite ``path`` (GFF3 or GTF) as GeenuFF needs it, the whole file at once."""
    found: dict[str, str] = {}
    rows = list(iter_rows(path, lengths, types, complete=True, found=found))
    return _canonical_of(path, rows, found.get("format", "gff3"), types)[0]


def _canonical_of(path, rows: list[Row], fmt: str, types: Types) -> tuple[Canonical, "Linked"]:
    input_types = Counter(r.ftype for r in rows)
    dropped: Counter = Counter()
    if fmt == "gtf":
        rows = from_gtf(path, rows, dropped)
    linked = link(path, rows, types)
    result = _rewrite(path, linked, types, input_types, dropped)
    result.format = fmt
    for r in rows:
        if r.read_as:
            result.renamed[r.read_as, f"type written as {r.ftype} (its Sequence Ontology name)"] += 1
    return result, linked


class Irregular(Exception):
    """Rows of one sequence link to another's (or share its IDs): the file is to be read whole instead."""


def sequence_runs(path: str | Path, of_run: Callable[[list[Row]], tuple[object, "Linked"]],
                  **read: object) -> Iterator[object]:
    """``of_run(rows)`` for each run of rows on one sequence, in file order, each run read and linked alone:
    memory as the largest run, not the file. ``of_run`` returns its result and the run's :class:`Linked`.
    Raises :class:`Irregular` where a run does not stand alone, and the whole file then decides: ``of_run``
    raises a UserError (a Parent in another run, ...), two runs use one ID (checked at the end, from 8 bytes
    an ID; renamed transcripts' and made genes' IDs included), or a run made genes for transcripts without
    Parent while the file has genes (an error when read whole). Errors of single lines (:func:`iter_rows`,
    given ``read``) are raised as they are."""
    ids: list[np.ndarray] = []
    with_genes = guessed = False

    def close(run):
        nonlocal with_genes, guessed
        try:
            result, linked = of_run(run)
        except UserError:
            raise Irregular from None
        idents = (r.ident for r in (*linked.rows, *linked.roots) if r.ident)
        ids.append(np.unique(np.fromiter((hash(i) for i in idents), np.int64)))
        with_genes, guessed = with_genes or linked.has_genes, guessed or linked.guessed_genes
        return result

    run: list[Row] = []
    for row in iter_rows(path, **read):
        if run and row.seqid != run[-1].seqid:
            yield close(run)
            run = []
        run.append(row)
    if run:
        yield close(run)
    every = np.concatenate(ids) if ids else np.empty(0, np.int64)
    if len(np.unique(every)) < len(every) or (with_genes and guessed):
        raise Irregular


class SequenceSpill:
    """Lists of items filed by sequence in a temporary file, read back one sequence at a time: a plant
    genome's gene models held one sequence at a time, not all at once. Sequences keep the order they were
    first filed in."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.index: dict[str, list[tuple[int, int]]] = defaultdict(list)  # seqid -> (offset, size) of its pickles

    def add(self, items: Iterable, seqid_of: Callable[[object], str]) -> None:
        by_seqid: dict[str, list] = defaultdict(list)
        for item in items:
            by_seqid[seqid_of(item)].append(item)
        for seqid, group in by_seqid.items():
            data = pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL)
            self.index[seqid].append((self.file.tell(), len(data)))
            self.file.write(data)

    def clear(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.index.clear()

    @property
    def seqids(self) -> list[str]:
        return list(self.index)

    def get(self, seqid: str) -> list:
        out: list = []
        for offset, size in self.index.get(seqid, ()):
            self.file.seek(offset)
            out += pickle.loads(self.file.read(size))
        self.file.seek(0, 2)
        return out

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "SequenceSpill":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _line_seqid(line: str) -> str:
    return line.split("\t", 1)[0]


def canonical_by_sequence(path: str | Path, lengths: dict[str, int], types: Types) -> tuple[Canonical, SequenceSpill]:
    """:func:`canonical`, one run of rows on one sequence at a time: the counts (``lines`` empty) and the
    canonical lines by sequence in a :class:`SequenceSpill`, each sequence's lines together (GeenuFF drops
    the earlier genes of a sequence whose rows come back after another's). Where runs do not stand alone
    (:class:`Irregular`), the whole file is read, as :func:`canonical` does, and gives the same result."""
    spill = SequenceSpill()
    found: dict[str, str] = {}

    total = Canonical([], Counter(), Counter(), Counter())
    try:
        try:
            for part in sequence_runs(path, lambda rows: _canonical_of(path, rows, found.get("format", "gff3"), types),
                                      lengths=lengths, types=types, complete=True, found=found):
                total.absorb(part)
                spill.add(part.lines, _line_seqid)
        except Irregular:
            spill.clear()
            total = canonical(path, lengths, types)  # raises the error a run met, if it is one
            spill.add(total.lines, _line_seqid)
            total.lines = []
    except BaseException:
        spill.close()
        raise
    total.format = found.get("format", total.format)
    return total, spill


def from_gtf(path, rows: list[Row], dropped: Counter) -> list[Row]:
    """GTF rows -> GFF3 rows with IDs and Parents (genes and transcripts made where the file has none)."""
    genes: dict[str, Row] = {}
    transcripts: dict[str, Row] = {}
    parts: dict[str, list[Row]] = defaultdict(list)
    out = []
    for r in rows:
        gene_id, tx_id = r.attrs.get("gene_id", ""), r.attrs.get("transcript_id", "")
        if r.ftype == "gene":
            if not gene_id:
                raise UserError(f"{path}: line {r.line}: gene without a gene_id")
            genes[gene_id] = r
            r.ident, r.parents = gene_id, ()
        elif r.ftype == "transcript":
            if not (gene_id and tx_id):
                raise UserError(f"{path}: line {r.line}: transcript without gene_id and transcript_id")
            transcripts[tx_id] = r
            r.ident, r.parents = tx_id, (gene_id,)
        elif r.ftype in ("exon", "CDS", "start_codon", "stop_codon"):
            if not tx_id:
                raise UserError(f"{path}: line {r.line}: {r.ftype} without a transcript_id")
            r.parents = (tx_id,)
            parts[tx_id].append(r)
        else:  # UTR, five_prime_utr, Selenocysteine, ...: GeenuFF derives UTRs from exon minus CDS
            dropped[r.ftype, "derived from exons and CDS" if "utr" in r.ftype.lower() else "not part of a gene model"] += 1
            continue
        out.append(r)
    for tx_id, members in parts.items():  # transcripts and genes the file only implies (StringTie, GENCODE)
        if tx_id not in transcripts:
            first = members[0]
            gene_id = first.attrs.get("gene_id", "") or tx_id
            t = _made("transcript", first, min(m.start for m in members), max(m.end for m in members), tx_id,
                      (gene_id,), first.strand)
            transcripts[tx_id] = t
            out.append(t)
    for t in transcripts.values():
        gene_id = t.parents[0]
        if gene_id not in genes:
            genes[gene_id] = g = _made("gene", t, t.start, t.end, gene_id, (), t.strand)
            out.append(g)
        else:
            g = genes[gene_id]
            g.start, g.end = min(g.start, t.start), max(g.end, t.end)
    for tx_id, members in parts.items():  # GFF3 types, and the stop codon inside the CDS as GFF3 has it
        cds = [m for m in members if m.ftype == "CDS"]
        if cds:
            transcripts[tx_id].ftype = transcripts[tx_id].cols[2] = "mRNA"
            _add_stop_codon(cds, [m for m in members if m.ftype == "stop_codon"])
    for r in out:  # GTF lines are always written anew, as GFF3
        r.text = None
    return sorted(out, key=lambda r: (r.ftype != "gene", r.line))


def _add_stop_codon(cds: list[Row], stops: list[Row]) -> None:
    """Extend the CDS by the stop codon (GTF leaves it out): into the CDS row it touches, or, alone in the
    last exon, as a CDS row of its own (in frame: phase 0). Phases of the 5' ends do not change."""
    for stop in stops:
        touching = next((c for c in cds if c.end + 1 == stop.start or stop.end + 1 == c.start
                         or (c.start <= stop.start and stop.end <= c.end)), None)
        if touching is None:
            stop.ftype = stop.cols[2] = "CDS"
            stop.cols[7] = "0"
            continue
        touching.start, touching.end = min(touching.start, stop.start), max(touching.end, stop.end)


def _made(ftype: str, like: Row, start: int, end: int, ident: str, parents: tuple[str, ...], strand: str) -> Row:
    """A row made here, like ``like`` (a GTF row passes on its gene and transcript names)."""
    cols = [like.seqid, like.cols[1], ftype, str(start), str(end), ".", strand, ".", ""]
    attrs = dict(like.attrs) if like.gtf else {}
    return Row(like.line, cols, ftype, like.seqid, start, end, strand, ident, parents, attrs, False, gtf=like.gtf)


# the parts of a gene model, by type, where no GeenuFF type lists are at hand (helixer-evaluate)
PART_TYPES = {"exon", "CDS"} | UTR_TYPES | set(PART_DROPPED)


@dataclass
class Roles:
    """What a feature type is in a gene model: by GeenuFF's Sequence Ontology lists (``types``), or, without
    them, by what the file nests (a transcript is what exons, CDS or UTRs name as Parent; a gene is what
    transcripts name, or a type named as one). Both readers, import and evaluate, link a file by the same rules with either."""

    types: Types | None
    transcript_ids: set[str] = field(default_factory=set)
    gene_ids: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, rows: list[Row], types: Types | None) -> "Roles":
        roles = cls(types)
        if types is None:
            # a gene is named as Parent by its transcripts (and, in ENA's files, by parts repeated under it
            # too); a transcript by its parts only
            roles.gene_ids = {p for r in rows if r.ftype not in PART_TYPES for p in r.parents}
            roles.transcript_ids = {p for r in rows if r.ftype in PART_TYPES for p in r.parents} - roles.gene_ids
        return roles

    def part(self, r: Row) -> bool:
        return r.ftype in PART_TYPES if self.types is None else r.ftype in self.types.parts

    def transcript(self, r: Row) -> bool:
        if self.types is None:
            return r.ident in self.transcript_ids and r.ftype not in PART_TYPES and r.ftype not in SEQUENCE_LEVEL
        return r.ftype in self.types.transcripts

    def gene(self, r: Row) -> bool:
        if self.types is None:  # named by transcripts, or a gene by its type's name (SO: gene, pseudogene, ...)
            return ((r.ident in self.gene_ids or "gene" in r.ftype) and r.ftype not in PART_TYPES
                    and not self.transcript(r))
        return r.ftype in self.types.genes


def _shares_its_genes_id(gene: Row, transcript: Row, roles: Roles) -> bool:
    """A transcript whose ID is its gene's, and whose Parent is that ID: gffread -E --keep-genes writes this for
    a GTF whose gene_id equals its transcript_id (UCSC refGene and similar)."""
    return (gene.ftype != transcript.ftype and gene.seqid == transcript.seqid and not gene.parents
            and transcript.parents == (gene.ident,) == (transcript.ident,) and transcript.ftype not in PART_TYPES
            and (roles.types is None or (roles.gene(gene) and roles.transcript(transcript))))


def _own_id(ident: str, taken: set[str]) -> str:
    k = 1
    while f"{ident}.t{k}" in taken:
        k += 1
    taken.add(f"{ident}.t{k}")
    return f"{ident}.t{k}"


@dataclass
class Linked:
    """A file's rows linked by ``ID``/``Parent``: each row's ``children`` filled, genes made for transcripts
    without one, and what that changed."""

    rows: list[Row]
    roots: list[Row]  # rows without a parent (genes, and rows outside gene models), in file order
    spans: dict[str, list[int]]  # ID -> [start, end] over all its lines
    roles: Roles
    added: Counter
    renamed: Counter
    has_genes: bool = False  # the rows have genes of their own
    guessed_genes: bool = False  # genes were made for transcripts with neither Parent nor gene attribute


def link(path, rows: list[Row], types: Types | None = None) -> Linked:
    """Link the rows of ``path`` into gene models by ``ID``/``Parent``, the one set of rules for every reader:
    IDs are unique, except for the lines of one feature (same type and sequence; NCBI's multi-line CDS, one CDS
    under two mRNAs) and a transcript sharing its gene's ID (gffread); every Parent names a feature that
    contains its child; parts have a Parent; transcripts have one Parent and a strand, and get a gene where the
    file has none (files without genes, or a ``geneID``/``gene_id`` attribute naming it)."""
    roles = Roles.of(rows, types)
    added: Counter = Counter()
    renamed: Counter = Counter()
    by_id: dict[str, Row] = {}  # the first row of each ID
    spans: dict[str, list[int]] = {}  # ID -> [start, end] of all its rows
    shared: dict[str, str] = {}  # an ID a gene and its transcript share -> the transcript's own ID
    taken = {r.ident for r in rows if r.ident}
    for r in rows:
        if not r.ident:
            continue
        seen = by_id.get(r.ident)
        if seen is not None and r.ident not in shared and (
                _shares_its_genes_id(seen, r, roles) or _shares_its_genes_id(r, seen, roles)):
            gene, transcript = (seen, r) if not seen.parents else (r, seen)
            own = shared[r.ident] = _own_id(r.ident, taken)
            by_id[r.ident], spans[r.ident] = gene, [gene.start, gene.end]
            transcript.ident, transcript.text = own, None  # written anew, with its own ID
            by_id[own], spans[own] = transcript, [transcript.start, transcript.end]
            renamed[transcript.ftype, "ID shared with its gene (gffread --keep-genes)"] += 1
            continue
        if seen is None:
            by_id[r.ident] = r
            spans[r.ident] = [r.start, r.end]
        elif seen.ftype != r.ftype or seen.seqid != r.seqid:
            raise UserError(f"{path}: line {r.line}: ID {r.ident!r} is already used on line {seen.line} by a "
                            f"{seen.ftype} on {seen.seqid}; IDs must be unique (lines of one feature share an ID "
                            "only with the same type and sequence)")
        else:  # another line of a multi-line feature: its own row, the span of all for the checks
            span = spans[r.ident]
            span[0], span[1] = min(span[0], r.start), max(span[1], r.end)
    if shared:  # parts naming a shared ID belong to the transcript (a gene's parts are its transcripts')
        if types is None:
            roles.transcript_ids = (roles.transcript_ids - set(shared)) | set(shared.values())
        for r in rows:
            if not roles.gene(r) and not roles.transcript(r) and any(p in shared for p in r.parents):
                r.parents, r.text = tuple(shared.get(p, p) for p in r.parents), None
    has_genes = any(roles.gene(r) for r in rows)
    guessed = False
    roots: list[Row] = []
    made_genes: dict[str, Row] = {}
    for r in rows:
        if roles.transcript(r) and r.strand in (".", "?"):
            raise UserError(f"{path}: line {r.line}: {r.ftype} {r.ident or '?'!r} has no strand ('.')")
        if not r.parents:
            if roles.part(r) or r.ftype in PART_DROPPED or r.ftype in UTR_TYPES:
                raise UserError(f"{path}: line {r.line}: {r.ftype} without a Parent attribute; GeenuFF would "
                                "attach it to whatever gene came before it")
            if roles.transcript(r):
                named = r.attrs.get("geneID") or r.attrs.get("gene_id")
                if not named and has_genes:  # a file with genes: this one's Parent is missing, not implied
                    raise UserError(f"{path}: line {r.line}: {r.ftype} {r.ident or '?'!r} has no Parent attribute "
                                    "(GeenuFF groups transcripts under their gene)")
                gene_id = named or f"{r.ident or r.line}.gene"
                guessed = guessed or not named
                if gene_id in by_id:  # the gene is in the file, named by an attribute (gffread --keep-genes)
                    r.parents, r.text = (gene_id,), None
                else:
                    gene = made_genes.get(gene_id)
                    if gene is None:
                        gene = made_genes[gene_id] = _made("gene", r, r.start, r.end, gene_id, (), r.strand)
                        roots.append(gene)
                        added["gene", "for transcripts without one"] += 1
                    gene.start, gene.end = min(gene.start, r.start), max(gene.end, r.end)
                    gene.children.append(r)
                    r.parent = gene
                    r.parents, r.text = (gene_id,), None  # written anew, with its Parent
                    continue
            else:
                roots.append(r)
                continue
        if roles.transcript(r) and len(r.parents) > 1:
            raise UserError(f"{path}: line {r.line}: {r.ftype} {r.ident or '?'!r} has several Parents "
                            f"({','.join(r.parents)}); GeenuFF supports one")
        for parent in r.parents:
            p = by_id.get(parent)
            if p is None:
                raise UserError(f"{path}: line {r.line}: Parent {parent!r} names no feature in the file")
            p0, p1 = spans[parent]
            if p.seqid != r.seqid or r.start < p0 or r.end > p1:
                what = f"{r.ftype} {r.ident!r}" if r.ident else r.ftype
                raise UserError(f"{path}: line {r.line}: {what} ({r.seqid}:{r.start}-{r.end}) lies outside its "
                                f"parent {p.ftype} {parent!r} ({p.seqid}:{p0}-{p1}, line {p.line})")
            p.children.append(r)
            r.parent = p
    reached, stack = set(), list(roots)
    while stack:
        r = stack.pop()
        if id(r) not in reached:
            reached.add(id(r))
            stack += r.children
    for r in rows:  # a row with parents that no root reaches is in a cycle
        if id(r) not in reached:
            raise UserError(f"{path}: line {r.line}: {r.ftype} is part of a Parent cycle")
    return Linked(rows, roots, spans, roles, added, renamed, has_genes, guessed)


def _rewrite(path, linked: Linked, types: Types, input_types: Counter, dropped: Counter) -> Canonical:
    roots, spans = linked.roots, linked.spans
    lines: list[str] = []
    result = Canonical(lines, input_types, dropped, linked.added, renamed=linked.renamed)

    def emit(r: Row, parent: str | None) -> None:
        if r.text is not None and (len(r.parents) <= 1 or parent is None):
            lines.append(r.text)  # as it was
            return
        attrs = {}
        if r.ident:  # a row copied under each of its parents gets an ID of its own
            attrs["ID"] = r.ident if len(r.parents) <= 1 else f"{r.ident}:{parent}"
        if parent:
            attrs["Parent"] = parent
        kept = r.attrs.items() if not r.gtf else ((k, escape(v)) for k, v in r.attrs.items() if k in GTF_KEPT)
        attrs |= {k: v for k, v in kept if k not in ("ID", "Parent")}
        cols = r.cols[:3] + [str(r.start), str(r.end)] + r.cols[5:8]  # spans may have grown (genes made here)
        lines.append("\t".join(cols + [";".join(f"{k}={v}" for k, v in attrs.items())]))

    def walk(r: Row, parent: str | None, gene: Row | None) -> None:
        if r.ftype in PART_DROPPED:
            dropped[r.ftype, PART_DROPPED[r.ftype]] += 1
            return
        is_gene = gene is None and (r.ftype in types.genes or any(c.ftype in types.transcripts for c in r.children))
        if gene is None and not is_gene:
            if r.children:  # an unknown container of a gene model: pass it through as GeenuFF sees it
                emit(r, parent)
                for c in r.children:
                    walk(c, r.ident, r)
            elif r.ftype in SEQUENCE_LEVEL or r.ftype not in types.transcripts:
                dropped[r.ftype, "not part of a gene model"] += 1
            else:
                emit(r, parent)
            return
        if is_gene:
            result.genes += 1
            if why := mask_reason(r):
                a, b = spans.get(r.ident, (r.start, r.end))  # a multi-line gene: all its lines
                result.masked.append((r.seqid, a - 1, b, r.strand, why))
                result.masked_ids[r.ident] = why
                if not r.children:  # nothing for GeenuFF to import, which would only log an ERROR about it
                    dropped[r.ftype, "masked, without parts"] += 1
                    return
            emit(r, parent)
            has_transcripts = any(c.ftype in types.transcripts for c in r.children)
            for c in r.children:
                if has_transcripts and c.ftype not in types.transcripts and c.ftype not in types.genes:
                    dropped[c.ftype, "listed under the gene, which has transcripts"] += 1
                    continue
                walk(c, r.ident, r)
            return
        emit(r, parent)
        if r.ftype in types.transcripts:
            result.transcripts += 1
            _transcript_parts(r, result)
        for c in r.children:
            if c.ftype in PART_DROPPED:
                dropped[c.ftype, PART_DROPPED[c.ftype]] += 1
                continue
            walk(c, r.ident, gene)

    for r in roots:
        walk(r, None, None)
    return result


def mask_reason(gene: Row) -> str:
    """Why a gene is masked in training ('' when it is not): a pseudogene or transposable element gene by its
    type or biotype, a gene with a ``pseudo=true`` part (RefSeq's disabled CDS), or a V/D/J/C segment gene."""
    if gene.ftype in MASKED_GENE_TYPES:
        return MASKED_GENE_TYPES[gene.ftype]
    biotype = next((gene.attrs[k] for k in ("gene_biotype", "biotype", "gene_type") if k in gene.attrs), "")
    if any(b in biotype for b in MASKED_BIOTYPES):
        return f"{biotype} biotype"
    stack = [gene]
    while stack:
        r = stack.pop()
        if r.attrs.get("pseudo") == "true":
            return "pseudo=true"
        if r.ftype.endswith("_gene_segment"):  # V/D/J/C segments: exons GeenuFF finds no transcript for
            return "immune receptor gene segment"
        stack += r.children
    return ""


def escape(value: str, reserved: str = ";=&,%\t\n\r") -> str:
    """``value`` percent-encoded where GFF3 reserves a character: attribute values by default; the first
    column (sequence names) also reserves spaces. Control characters are always encoded."""
    return "".join("".join(f"%{b:02X}" for b in c.encode()) if c in reserved or ord(c) < 32 else c for c in value)


def merge(intervals, touching: int = 1) -> list[tuple[int, int]]:
    """Sorted union of intervals; ``touching=1`` for 1-based inclusive ones (GFF), 0 for half-open ones."""
    out: list[list[int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + touching:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def overlap(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]], touching: int = 1) -> int:
    """Bases two sorted lists of disjoint intervals (:func:`merge`'s) share, in one pass over both;
    ``touching`` as for :func:`merge`."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        shared = min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]) + touching
        if shared > 0:
            total += shared
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _transcript_parts(t: Row, result: Canonical) -> None:
    """Exons for CDS-only transcripts; UTR rows checked against exon minus CDS."""
    exons = [c for c in t.children if c.ftype == "exon"]
    cds = [c for c in t.children if c.ftype == "CDS"]
    utrs = [c for c in t.children if c.ftype in UTR_TYPES]
    if not exons and cds:
        for a, b in merge([(c.start, c.end) for c in cds + utrs]):
            row = _made("exon", t, a, b, "", (t.ident,), t.strand)
            row.line = cds[0].line
            t.children.insert(0, row)
            result.added["exon", "for transcripts given as CDS only"] += 1
        return
    if utrs and cds:
        exon_bases = merge([(e.start, e.end) for e in exons])
        coding = merge([(c.start, c.end) for c in cds])
        expected = _subtract(exon_bases, coding)
        if merge([(u.start, u.end) for u in utrs]) != expected:
            result.utr_disagreements += 1


def _subtract(intervals: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for a, b in intervals:
        pieces = [(a, b)]
        for h0, h1 in holes:
            pieces = [q for p0, p1 in pieces for q in ((p0, min(p1, h0 - 1)), (max(p0, h1 + 1), p1)) if q[0] <= q[1]]
        out += pieces
    return merge(out)
