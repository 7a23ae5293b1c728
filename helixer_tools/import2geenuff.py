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
import os
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Sequence

from .errors import UserError
from .fasta import is_gzip, open_binary, scan
from .h5io import SEQID_BYTES, SPECIES_BYTES, check_name

log = logging.getLogger("helixer_tools")


def _geenuff_types():
    try:
        from rare_geenuff.base import types
    except ImportError:
        raise UserError("the geenuff package is not installed: pip install 'helixer-tools[geenuff]'") from None
    known = {t.value for t in types.AllKnownGFFFeatures}
    transcripts = {t.value for t in types.TranscriptLevel}
    return known, transcripts


def _attributes(text: str) -> dict[str, str]:
    attrs = {}
    for field in text.strip().strip(";").split(";"):
        if "=" in field:
            key, _, value = field.strip().partition("=")
            attrs[key] = value
    return attrs


def check_gff3(path: str | Path, fasta_ids: set[str]) -> dict[str, int]:
    """Check a GFF3 file line by line for what GeenuFF cannot import; returns feature counts by type."""
    known, transcript_types = _geenuff_types()
    counts: Counter = Counter()
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
            if seqid not in fasta_ids:
                raise UserError(f"{path}: line {number}: sequence {seqid!r} is not in the FASTA")
            if ftype in transcript_types:
                parents = _attributes(attributes).get("Parent", "")
                name = _attributes(attributes).get("ID", "?")
                if not parents:
                    raise UserError(f"{path}: line {number}: {ftype} {name!r} has no Parent attribute "
                                    "(GeenuFF groups transcripts under their gene)")
                if "," in parents:
                    raise UserError(f"{path}: line {number}: {ftype} {name!r} has several Parents ({parents}); "
                                    "GeenuFF supports one")
                if strand == ".":
                    raise UserError(f"{path}: line {number}: {ftype} {name!r} has no strand ('.')")
            counts[ftype] += 1
    if not counts:
        raise UserError(f"{path}: no features found (is this a GFF3 file?)")
    return dict(counts)


def _plain_copy(path: Path, workdir: Path, name: str) -> Path:
    """GeenuFF infers compression from file names; hand it plain text whatever the input is."""
    if not is_gzip(path):
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
    """Import; returns the database's feature counts by type. Output and log are written atomically."""
    check_name("species", species, SPECIES_BYTES)
    output, log_file = Path(output), Path(log_file)
    records = scan(fasta, max_seqid_bytes=SEQID_BYTES)
    gff_counts = check_gff3(gff3, {r.seqid for r in records})
    log.info("%s: %d sequences; %s: %d features", fasta, len(records), gff3, sum(gff_counts.values()))
    from rare_geenuff.applications.importer import ImportController

    workdir = Path(tempfile.mkdtemp(prefix=".import2geenuff-", dir=output.parent if output.parent.exists() else None))
    tmp_db, tmp_log = workdir / "geenuff.sqlite3", workdir / "import.log"
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
    imported = False
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
        imported = True
    except UserError:
        raise
    except Exception as e:  # GeenuFF rejects what our checks let through
        text = " ".join(str(e).split())[:500]
        raise UserError(f"{gff3}: GeenuFF could not import it: {type(e).__name__}: {text} "
                        f"(see its log in {log_file})") from None
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        for h, filters, level in quieted:
            h.filters = filters
            h.setLevel(level)
        if tmp_log.exists():
            os.replace(tmp_log, log_file)  # the log is kept also when the import fails: it says why
        if imported:
            os.replace(tmp_db, output)
        shutil.rmtree(workdir, ignore_errors=True)
    counts = error_summary(output)
    errors = {k: v for k, v in counts.items() if k not in ("genes", "geenuff_transcript", "geenuff_cds", "geenuff_intron")}
    log.info("%d genes, %d transcripts, %d error regions flagged%s", counts.get("genes", 0),
             counts.get("geenuff_transcript", 0), sum(errors.values()),
             (": " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))) if errors else "")
    return counts
