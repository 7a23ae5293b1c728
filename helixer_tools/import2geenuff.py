"""GFF3 + FASTA -> GeenuFF SQLite database, through the geenuff package (PyPI rare-geenuff).

GeenuFF standardises gene models and flags error regions (missing UTRs, start/stop codons, phase
errors, overlapping exons, too-short introns, ...) that geenuff2h5 turns into sample weight 0.
Before handing the files to GeenuFF this module checks them itself, so what GeenuFF would reject
with a traceback (unknown feature types, transcripts without a Parent, sequence ids missing from
the FASTA) is one clear error naming the GFF3 line. GeenuFF's own log becomes an output file.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .atomic import atomic_path
from .errors import UserError
from .fasta import compression, open_binary, scan
from .h5io import SEQID_BYTES, SPECIES_BYTES, check_name

log = logging.getLogger("helixer_tools")


def _geenuff_types():
    try:
        from rare_geenuff.base import types
    except ImportError:
        raise UserError("the geenuff package is not installed: pip install 'helixer-tools[geenuff]'") from None
    known = {t.value for t in types.AllKnownGFFFeatures}
    genes = {t.value for t in types.SuperLocusAll}
    transcripts = {t.value for t in types.TranscriptLevel}
    parts = {t.value for t in types.UsefulGFFFeatures} - genes - transcripts  # exon, CDS, UTR, ... kinds
    return known, transcripts, parts


def _attributes(text: str) -> dict[str, str]:
    attrs = {}
    for field in text.strip().strip(";").split(";"):
        if "=" in field:
            key, _, value = field.strip().partition("=")
            attrs[key] = value
    return attrs


def _looks_like_gtf(attributes: str) -> bool:
    """GTF's ``gene_id "g1"; transcript_id "t1";`` rather than GFF3's ``ID=t1;Parent=g1``."""
    first = attributes.strip().split(";")[0].strip()
    return "=" not in first and " " in first and first.split(" ", 1)[1].startswith('"')


@dataclass
class _Feature:
    """What the checks need of a feature with an ID (multi-line features: the span of all their lines)."""

    line: int
    ftype: str
    seqid: str
    start: int
    end: int


def check_gff3(path: str | Path, lengths: dict[str, int]) -> dict[str, int]:
    """Check a GFF3 file for what GeenuFF cannot import or would silently get wrong, and name the line:
    malformed lines, GTF, unknown types, sequences missing from the FASTA (``lengths``: id -> bp) or
    features past their end, parts of a transcript without a Parent, a Parent naming no feature, a child
    outside its parent, and one ID used by features of different types or sequences (multi-line features,
    whose lines share an ID, are allowed). Returns feature counts by type."""
    known, transcript_types, part_types = _geenuff_types()
    counts: Counter = Counter()
    features: dict[str, _Feature] = {}
    pending: list[tuple[int, str, str, str, str, int, int]] = []  # line, type, name, parent, seqid, start, end
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise UserError(f"{path}: line {number}: not UTF-8 text (is this a GFF3 file?)") from None
            if line.startswith("##FASTA"):
                raise UserError(f"{path}: line {number}: an embedded ##FASTA section is not supported; "
                                "give the sequences as a separate FASTA file")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 9:
                raise UserError(f"{path}: line {number}: expected 9 tab-separated columns, found {len(cols)} "
                                "(is this a GFF3 file?)")
            seqid, _, ftype, start, end, _, strand, phase, attributes = cols
            if _looks_like_gtf(attributes):
                raise UserError(f"{path}: line {number}: this is GTF (attributes like {attributes.split(';')[0]}), "
                                "not GFF3; convert it with: gffread -E --keep-genes in.gtf -o out.gff3")
            if ftype not in known:
                raise UserError(f"{path}: line {number}: unknown feature type {ftype!r}; GeenuFF needs Sequence "
                                "Ontology types (gene, mRNA, exon, CDS, ...)")
            if not (start.isdigit() and end.isdigit()) or int(start) > int(end) or int(start) < 1:
                raise UserError(f"{path}: line {number}: start {start!r} and end {end!r} are not 1-based "
                                "coordinates with start <= end")
            if strand not in ("+", "-", "."):
                raise UserError(f"{path}: line {number}: strand {strand!r} is not '+', '-' or '.'")
            if phase not in (".", "0", "1", "2"):
                raise UserError(f"{path}: line {number}: phase {phase!r} is not '.', 0, 1 or 2")
            if seqid not in lengths:
                raise UserError(f"{path}: line {number}: sequence {seqid!r} is not in the FASTA")
            a, b = int(start), int(end)
            if b > lengths[seqid]:
                raise UserError(f"{path}: line {number}: {ftype} ends at {b}, past the end of {seqid} "
                                f"({lengths[seqid]} bp in the FASTA); is this the annotation of another assembly?")
            attrs = _attributes(attributes)
            name, parents = attrs.get("ID", ""), attrs.get("Parent", "")
            if ftype in transcript_types:
                if not parents:
                    raise UserError(f"{path}: line {number}: {ftype} {name or '?'!r} has no Parent attribute "
                                    "(GeenuFF groups transcripts under their gene)")
                if "," in parents:
                    raise UserError(f"{path}: line {number}: {ftype} {name or '?'!r} has several Parents "
                                    f"({parents}); GeenuFF supports one")
                if strand == ".":
                    raise UserError(f"{path}: line {number}: {ftype} {name or '?'!r} has no strand ('.')")
            elif ftype in part_types and not parents:
                raise UserError(f"{path}: line {number}: {ftype} without a Parent attribute; GeenuFF would "
                                "attach it to whatever gene came before it")
            if name:
                seen = features.get(name)
                if seen is None:
                    features[name] = _Feature(number, ftype, seqid, a, b)
                elif seen.ftype != ftype or seen.seqid != seqid:
                    raise UserError(f"{path}: line {number}: ID {name!r} is already used on line {seen.line} by a "
                                    f"{seen.ftype} on {seen.seqid}; IDs must be unique (lines of one feature share "
                                    "an ID only with the same type and sequence)")
                else:  # another line of a multi-line feature
                    seen.start, seen.end = min(seen.start, a), max(seen.end, b)
            for parent in filter(None, parents.split(",")):
                p = features.get(parent)  # checked now when it fits (spans only grow), else at the end
                if p is None or p.seqid != seqid or a < p.start or b > p.end:
                    pending.append((number, ftype, name, parent, seqid, a, b))
            counts[ftype] += 1
    if not counts:
        raise UserError(f"{path}: no features found (is this a GFF3 file?)")
    for number, ftype, name, parent, seqid, a, b in pending:  # parents may come after their children
        p = features.get(parent)
        if p is None:
            raise UserError(f"{path}: line {number}: Parent {parent!r} names no feature in the file")
        if p.seqid != seqid or a < p.start or b > p.end:
            what = f"{ftype} {name!r}" if name else ftype
            raise UserError(f"{path}: line {number}: {what} ({seqid}:{a}-{b}) lies outside its parent {p.ftype} "
                            f"{parent!r} ({p.seqid}:{p.start}-{p.end}, line {p.line})")
    return dict(counts)


def _plain_copy(path: Path, workdir: Path, name: str) -> Path:
    """GeenuFF infers compression from file names; hand it plain text whatever the input is."""
    if compression(path) is None:
        return path
    out = workdir / name
    with open_binary(path) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    return out


class _OnlyOurs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith("helixer_tools") or record.levelno >= logging.ERROR


def error_summary(db_path: str | Path) -> dict[str, int]:
    """Feature counts of a GeenuFF database by type (genes, transcripts and each error type)."""
    con = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
    try:
        counts = dict(con.execute("SELECT type, count(*) FROM feature GROUP BY type"))
        counts["genes"] = con.execute("SELECT count(*) FROM super_locus").fetchone()[0]
        return counts
    finally:
        con.close()


def _import(gff3, fasta, workdir: Path, tmp_db: Path, tmp_log: Path, species, accession, genome_version,
            acquired_from, min_intron_length) -> None:
    """Run GeenuFF's importer into ``tmp_db``, its log into ``tmp_log`` (both renamed by the caller)."""
    from rare_geenuff.applications.importer import ImportController

    handler = logging.FileHandler(tmp_log, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s: %(message)s", "%d-%b-%y %H:%M:%S"))
    # GeenuFF logs to the root logger: all of it goes to the log file, only our own lines to stderr,
    # at the verbosity the user chose
    root = logging.getLogger()
    old_level = root.level
    quieted = [(h, h.filters[:], h.level) for h in root.handlers]
    for h, _, level in quieted:
        h.addFilter(_OnlyOurs())
        h.setLevel(max(level, old_level))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        plain_fasta = _plain_copy(Path(fasta), workdir, "genome.fa")
        plain_gff = _plain_copy(Path(gff3), workdir, "annotation.gff3")
        log.info("importing with GeenuFF (min intron length %d)", min_intron_length)
        with contextlib.redirect_stdout(sys.stderr):
            controller = ImportController(database_path=str(tmp_db), config={"min_intron_length": min_intron_length},
                                          replace_db=True)
            controller.add_genome(str(plain_fasta), str(plain_gff),
                                  {"species": species, "accession": accession, "version": genome_version,
                                   "acquired_from": acquired_from})
            controller.session.close()
            controller.engine.dispose()
    except (UserError, KeyboardInterrupt, OSError):
        raise
    except Exception as e:  # GeenuFF rejects what our checks let through
        text = " ".join(str(e).split())[:500]
        raise UserError(f"{gff3}: GeenuFF could not import it: {type(e).__name__}: {text}") from None
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        for h, filters, level in quieted:
            h.filters = filters
            h.setLevel(level)


def import_to_geenuff(
    gff3: str | Path,
    fasta: str | Path,
    output: str | Path,
    log_file: str | Path,
    species: str,
    accession: str = "",
    genome_version: str = "",
    acquired_from: str = "",
    min_intron_length: int = 20,
    argv: Sequence[str] = (),
) -> dict[str, int]:
    """Import; returns the database's feature counts by type. Output and log appear together, or neither."""
    check_name("species", species, SPECIES_BYTES)
    output, log_file = Path(output), Path(log_file)
    records = scan(fasta, max_seqid_bytes=SEQID_BYTES)
    gff_counts = check_gff3(gff3, {r.seqid: r.length for r in records})
    log.info("%s: %d sequences; %s: %d features", fasta, len(records), gff3, sum(gff_counts.values()))
    with contextlib.ExitStack() as stack:
        tmp_db = stack.enter_context(atomic_path(output))
        tmp_log = stack.enter_context(atomic_path(log_file))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="import2geenuff-")))
        _import(gff3, fasta, workdir, tmp_db, tmp_log, species, accession, genome_version, acquired_from,
                min_intron_length)
        counts = error_summary(tmp_db)
    errors = {k: v for k, v in counts.items() if k not in ("genes", "geenuff_transcript", "geenuff_cds", "geenuff_intron")}
    log.info("%d genes, %d transcripts, %d error regions flagged%s", counts.get("genes", 0),
             counts.get("geenuff_transcript", 0), sum(errors.values()),
             (": " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))) if errors else "")
    if not counts.get("genes"):
        log.warning("%s: no genes imported: the labels will be all intergenic", gff3)
    return counts
