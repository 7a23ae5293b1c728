"""GFF3 or GTF + FASTA -> GeenuFF SQLite database, through the geenuff package (PyPI rare-geenuff).

GeenuFF standardises gene models and flags error regions (missing UTRs, start/stop codons, phase
errors, overlapping exons, too-short introns, ...) that geenuff2h5 turns into sample weight 0.
Before handing the files to GeenuFF this module checks them and rewrites the gene models as GeenuFF
groups them (:mod:`helixer_tools.gff`), so what GeenuFF would reject with a traceback, or import
silently wrong, is one clear error naming the line or a counted change. GeenuFF's own log becomes an
output file; an optional summary table says what was kept, dropped and masked.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import re
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

from .atomic import atomic_path
from .errors import UserError
from .fasta import iter_sequences, scan
from .gff import Canonical, SequenceSpill, Types, canonical_by_sequence, merge, overlap
from .h5io import SEQID_BYTES, SPECIES_BYTES, check_name
from .labels import ERROR_TYPES
from .progress import Progress

log = logging.getLogger("helixer_tools")


def _geenuff_types() -> Types:
    try:
        from rare_geenuff.base import types
    except ImportError:
        raise UserError("the geenuff package is not installed: pip install 'helixer-tools[geenuff]'") from None
    genes = {t.value for t in types.SuperLocusAll}
    transcripts = {t.value for t in types.TranscriptLevel}
    parts = {t.value for t in types.UsefulGFFFeatures} - genes - transcripts  # exon, CDS, UTR, ... kinds
    return Types({t.value for t in types.AllKnownGFFFeatures}, genes, transcripts, parts)


def check_gff3(path: str | Path, lengths: dict[str, int]) -> tuple[Canonical, SequenceSpill]:
    """Check the gene models (GFF3 or GTF) against the FASTA's sequence ``lengths`` and rewrite them as
    GeenuFF needs them (see :mod:`helixer_tools.gff`), one sequence at a time; each problem is an error
    naming the line. Returns the counts and the canonical lines by sequence (a spill the caller closes)."""
    return canonical_by_sequence(path, lengths, _geenuff_types())


class _MaskedHere(logging.Filter):
    """GeenuFF logs "X is a gene without any transcripts. This will not be masked." as an ERROR for a gene whose
    parts hang straight under it (RefSeq's pseudogenes). Where we mask X ourselves that misleads: the record
    becomes an INFO line of the log saying so (and stays off the terminal)."""

    PATTERN = re.compile(r"(.+) is a gene without any transcripts\. This will not be masked\.")

    def __init__(self, masked: dict[str, str]):
        super().__init__()
        self.masked = masked

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and (m := self.PATTERN.fullmatch(record.getMessage())) \
                and m.group(1) in self.masked:
            record.msg, record.args = (f"{m.group(1)} is a gene without any transcripts: GeenuFF does not mask it, "
                                       f"helixer-tools does (training ignores it: {self.masked[m.group(1)]})"), ()
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


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


def _import(gff3, fasta, spill: SequenceSpill, workdir: Path, tmp_db: Path, tmp_log: Path, genome: dict[str, str],
            min_intron_length: int, masked: dict[str, str], total_bp: int, progress: bool) -> None:
    """Run GeenuFF's importer on the FASTA and the canonical gene models in ``spill`` into ``tmp_db``, its log
    into ``tmp_log`` (both renamed by the caller)."""
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
    masked_here = _MaskedHere(masked)
    root.addFilter(masked_here)
    printed = io.StringIO()  # what GeenuFF prints goes to its log too, not to our one-line errors
    try:
        log.info("importing with GeenuFF (min intron length %d)", min_intron_length)
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), _enum_values_as_sets(), \
                Progress(total_bp, "import2geenuff", enabled=progress) as bar:
            controller = ImportController(database_path=str(tmp_db), config={"min_intron_length": min_intron_length},
                                          replace_db=True)
            _add_genome(controller, gff3, fasta, spill, workdir, genome, bar.update)
            controller.session.close()
            controller.engine.dispose()
    except (UserError, KeyboardInterrupt, OSError):
        raise
    except Exception as e:  # GeenuFF rejects what our checks let through
        text = " ".join(str(e).split())[:500]
        raise UserError(f"{gff3}: GeenuFF could not import it: {type(e).__name__}: {text}") from None
    finally:
        root.removeFilter(masked_here)
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        for h, filters, level in quieted:
            h.filters = filters
            h.setLevel(level)
        if printed.getvalue():
            with open(tmp_log, "a") as f:
                f.write(printed.getvalue())


COMMIT_BP = 64_000_000  # sequences are written to the database in batches of about this many bases


@contextlib.contextmanager
def _enum_values_as_sets():
    """GeenuFF's importer asks ``in_enum_values(type, enum)`` of every GFF3 row, and that builds a list of the
    enum's values each time: a third of the import of a plant chromosome. The same answer from a set made once
    per enum (types are strings), only while our import runs."""
    from rare_geenuff.applications import importer

    values: dict[type, frozenset] = {}

    def in_enum_values(x, enum):
        if enum not in values:
            values[enum] = frozenset(item.value for item in enum)
        return x in values[enum]

    original, importer.in_enum_values = importer.in_enum_values, in_enum_values
    try:
        yield
    finally:
        importer.in_enum_values = original


def _add_genome(controller, gff3, fasta, spill: SequenceSpill, workdir: Path, genome: dict[str, str],
                progress: Callable[[int], None]) -> None:
    """What GeenuFF's ``ImportController.add_genome`` does, one sequence at a time: GeenuFF's own reads the
    whole FASTA, then the whole GFF3, into memory (11 GB for a 300 Mbp genome). The same database comes out:
    coordinates in FASTA order, then each sequence's gene models, in the order their sequences first appear
    in the file, through GeenuFF's own ``add_gff`` (its grouping, error regions and numbering), with only
    that sequence's coordinate loaded. It relies on internals of the pinned rare-geenuff 0.1.1 (the FASTA
    importer's ``mk_mapper`` and ``_gffid_to_coords``, and the importer module's ``in_enum_values``,
    :func:`_enum_values_as_sets`); the upstream chain tests and
    ``test_import_one_sequence_at_a_time_keeps_every_gene`` hold it to GeenuFF's own result."""
    from rare_geenuff.base import helpers, orm

    logging.info("Starting to add genome: %s", genome["species"])
    logging.info("FASTA path: %s", fasta)
    logging.info("GFF path: the canonical gene models of %s, one sequence at a time", gff3)
    controller.clean_tmp_data()
    controller.make_genome(genome)
    importer, session = controller.latest_fasta_importer, controller.session
    pending = 0
    for seqid, pieces in iter_sequences(fasta):
        seq = b"".join(pieces).decode("ascii")  # upper case, as GeenuFF stores and hashes it
        orm.Coordinate(sequence=seq, length=len(seq), seqid=seqid, sha1=helpers.sequence_hash(seq),
                       genome=importer.genome)
        logging.info("Added coordinate object for FASTA sequence with seqid %s to the queue", seqid)
        pending += len(seq)
        del seq
        if pending >= COMMIT_BP:
            session.commit()  # expires the coordinates: their bases leave memory
            pending = 0
    session.commit()
    if not spill.seqids:  # GeenuFF cannot read a GFF3 without features: the sequences alone
        return
    # the GFF3's sequence ids are the FASTA's (checked): GeenuFF's mapping between them, which loads every
    # coordinate with its bases, is not needed; each sequence's own coordinate is given instead
    importer.mk_mapper = lambda gff_file=None: None
    part = workdir / "sequence.gff3"
    for seqid in spill.seqids:
        coord = session.query(orm.Coordinate).filter_by(genome_id=importer.genome.id, seqid=seqid).one()
        importer._gffid_to_coords = {seqid: coord}
        with open(part, "w") as out:
            out.write("##gff-version 3\n")
            out.writelines(line + "\n" for line in spill.get(seqid))
        controller.add_gff(str(part))
        progress(coord.length)
        session.expire(coord)
        del coord
        importer._gffid_to_coords = None
    controller.run_analyze()


MASK_TABLE = "helixer_tools_mask"  # our own table: upstream's geenuff2h5 ignores it


def write_masks(db_path: str | Path, masks: list[tuple[str, int, int, str, str]]) -> None:
    """Regions training ignores (pseudogenes, ...): (seqid, start, end, strand, reason), 0-based half open."""
    con = sqlite3.connect(db_path)
    try:
        con.execute(f'CREATE TABLE {MASK_TABLE} (seqid TEXT, start INTEGER, "end" INTEGER, strand TEXT, reason TEXT)')
        con.executemany(f"INSERT INTO {MASK_TABLE} VALUES (?, ?, ?, ?, ?)", masks)
        con.commit()
    finally:
        con.close()


def masked_coding_share(db_path: str | Path) -> tuple[int, int]:
    """(coding bases inside GeenuFF error regions, coding bases) of a database: what training will not see
    of the gene models. Missing UTRs mask only around genes; overlapping exons and the like mask them.
    Read one sequence and strand at a time."""
    kinds = ("geenuff_cds", *ERROR_TYPES)
    con = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
    try:
        rows = con.execute(f'SELECT coordinate_id, is_plus_strand, type, start, "end" FROM feature WHERE type IN '
                           f'({",".join("?" * len(kinds))}) ORDER BY coordinate_id, is_plus_strand', kinds)
        masked = total = 0
        for _, group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
            coding, errors = [], []
            for _, _, ftype, a, b in group:
                (coding if ftype == "geenuff_cds" else errors).append((min(a, b), max(a, b)))
            cds = merge(coding, touching=0)
            total += sum(b - a for a, b in cds)
            masked += overlap(cds, merge(errors, touching=0), touching=0)
        return masked, total
    finally:
        con.close()


MASKED_WARNING = 0.05  # share of coding bases in error regions above which the import warns


def summary_rows(canon: Canonical, counts: dict[str, int], masked: tuple[int, int]) -> list[tuple[str, str, str, int]]:
    """The import summary: (section, feature type, what, count) rows."""
    rows = [("input", t, "rows", n) for t, n in sorted(canon.input_types.items())]
    rows += [("dropped", t, why, n) for (t, why), n in sorted(canon.dropped.items())]
    rows += [("added", t, why, n) for (t, why), n in sorted(canon.added.items())]
    rows += [("renamed", t, why, n) for (t, why), n in sorted(canon.renamed.items())]
    if canon.utr_disagreements:
        rows.append(("checked", "UTR", "transcripts whose UTR rows differ from exon minus CDS", canon.utr_disagreements))
    rows += [("database", "gene", "genes", counts.get("genes", 0)),
             ("database", "transcript", "transcripts", counts.get("geenuff_transcript", 0)),
             ("database", "CDS", "coding transcript pieces", counts.get("geenuff_cds", 0))]
    rows += [("masked", "gene", why, n) for why, n in sorted(Counter(m[4] for m in canon.masked).items())]
    rows += [("error regions", t, "regions", n) for t, n in sorted(counts.items()) if t in ERROR_TYPES]
    rows += [("error regions", "CDS", "coding bases in error regions", masked[0]),
             ("error regions", "CDS", "coding bases", masked[1])]
    return rows


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
    summary: str | Path | None = None,
    argv: Sequence[str] = (),
    progress: bool = False,
) -> dict[str, int]:
    """Import; returns the database's feature counts by type. Output, log and summary appear together."""
    check_name("species", species, SPECIES_BYTES)
    output, log_file = Path(output), Path(log_file)
    records = scan(fasta, max_seqid_bytes=SEQID_BYTES)
    lengths = {r.seqid: r.length for r in records}
    with contextlib.ExitStack() as stack:
        canon, spill = check_gff3(gff3, lengths)
        stack.enter_context(spill)
        changes = [f"dropped {n} {t} {why}" for (t, why), n in sorted(canon.dropped.items())]
        changes += [f"added {n} {t} {why}" for (t, why), n in sorted(canon.added.items())]
        changes += [f"gave {n} {t} an ID of its own: {why}" for (t, why), n in sorted(canon.renamed.items())]
        log.info("%s: %d sequences; %s (%s): %d rows, %d genes, %d transcripts%s", fasta, len(records), gff3,
                 canon.format.upper(), sum(canon.input_types.values()), canon.genes, canon.transcripts,
                 ("; " + ", ".join(changes)) if changes else "")
        if canon.utr_disagreements:
            log.warning("%s: %d transcripts have UTR rows that differ from exon minus CDS; GeenuFF uses exon and "
                        "CDS", gff3, canon.utr_disagreements)
        tmp_db = stack.enter_context(atomic_path(output))
        tmp_log = stack.enter_context(atomic_path(log_file))
        tmp_summary = stack.enter_context(atomic_path(summary)) if summary else None
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="import2geenuff-")))
        genome = {"species": species, "accession": accession, "version": genome_version,
                  "acquired_from": acquired_from}
        _import(gff3, fasta, spill, workdir, tmp_db, tmp_log, genome, min_intron_length, canon.masked_ids,
                sum(lengths[s] for s in spill.seqids), progress)
        write_masks(tmp_db, canon.masked)
        counts = error_summary(tmp_db)
        masked = masked_coding_share(tmp_db)
        if tmp_summary is not None:
            tmp_summary.write_text("section\ttype\twhat\tcount\n" + "".join(
                "\t".join(map(str, row)) + "\n" for row in summary_rows(canon, counts, masked)))
    if canon.masked:
        log.info("%d genes masked in training (sample weight 0): %s", len(canon.masked), ", ".join(
            f"{n} {why}" for why, n in sorted(Counter(m[4] for m in canon.masked).items())))
    errors = {k: v for k, v in counts.items() if k in ERROR_TYPES}
    log.info("%d genes, %d transcripts, %d error regions flagged%s", counts.get("genes", 0),
             counts.get("geenuff_transcript", 0), sum(errors.values()),
             (": " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))) if errors else "")
    if not counts.get("genes"):
        log.warning("%s: no genes imported: the labels will be all intergenic", gff3)
    elif masked[1] and masked[0] / masked[1] > MASKED_WARNING:
        log.warning("%s: %.1f%% of the coding bases lie in GeenuFF error regions and will not be trained on (see "
                    "--log for why)", gff3, 100 * masked[0] / masked[1])
    return counts
