"""Read a GeenuFF SQLite database with the standard library only (no SQLAlchemy, no GeenuFF).

What is exported is what upstream geenuff2h5 exports: the features of each gene's longest transcript,
for transcripts with at least one CDS (non-coding genes become intergenic, isoforms are ignored),
including the GeenuFF error features attached to those transcripts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encoding import VALID_BASES
from .errors import UserError
from .labels import ERROR, ERROR_TYPES, FEATURE_KINDS, StrandFeatures

_TABLES = {"genome", "coordinate", "feature", "transcript", "transcript_piece", "super_locus",
           "association_transcript_piece_to_feature"}

FETCH_ROWS = 65536  # feature rows fetched from the database at a time

_FEATURES = """
SELECT f.coordinate_id, t.id, f.id, f.type, f.start, f."end", f.is_plus_strand, f.phase
FROM feature f
JOIN association_transcript_piece_to_feature a ON a.feature_id = f.id
JOIN transcript_piece tp ON tp.id = a.transcript_piece_id
JOIN transcript t ON t.id = tp.transcript_id
JOIN super_locus sl ON sl.id = t.super_locus_id
JOIN coordinate c ON c.id = f.coordinate_id
WHERE t.longest = 1 AND t.id IN (
    SELECT tp2.transcript_id FROM transcript_piece tp2
    JOIN association_transcript_piece_to_feature a2 ON a2.transcript_piece_id = tp2.id
    JOIN feature f2 ON f2.id = a2.feature_id
    WHERE f2.type = 'geenuff_cds')
ORDER BY c.length DESC, t.id, f.id
"""


@dataclass(frozen=True)
class Coordinate:
    id: int
    seqid: str
    length: int
    plus: StrandFeatures
    minus: StrandFeatures
    sha1: str = ""  # of the upper-case bases, recorded by GeenuFF at import

    @property
    def annotated(self) -> bool:
        return bool(len(self.plus) or len(self.minus))


class GeenuffDB:
    """A GeenuFF database holding exactly one genome, opened read-only."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if not Path(path).is_file():
            raise UserError(f"{path}: no such file")
        try:
            self.con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
            tables = {r[0] for r in self.con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as e:
            raise UserError(f"{path}: not a GeenuFF SQLite database ({e})") from None
        if missing := _TABLES - tables:
            raise UserError(f"{path}: not a GeenuFF database (tables missing: {', '.join(sorted(missing))})")
        genomes = self.con.execute("SELECT species FROM genome").fetchall()
        if len(genomes) != 1:
            raise UserError(f"{path}: holds {len(genomes)} genomes ({', '.join(g[0] or '?' for g in genomes)}); "
                            "geenuff2h5 needs exactly one")
        self.species = genomes[0][0] or ""

    def close(self) -> None:
        self.con.close()

    def coordinates(self) -> list[Coordinate]:
        """Every sequence with its exported features, in upstream geenuff2h5's order.

        Upstream orders by descending length; among equal lengths, annotated sequences first (by their
        first transcript id), then the others in table order. Features are sorted per sequence by
        min(start, end), stable over the query's transcript order, as upstream; all sequences in one query
        (a draft assembly has tens of thousands), its rows kept as arrays.
        """
        coords = self.con.execute("SELECT id, seqid, length, sha1 FROM coordinate ORDER BY id").fetchall()
        seqids = {cid: seqid for cid, seqid, _, _ in coords}
        order: dict[int, int] = {}
        columns = []
        cursor = self.con.execute(_FEATURES)
        while batch := cursor.fetchmany(FETCH_ROWS):  # as arrays batch by batch: Python rows of a genome's
            columns.append(self._columns(batch, seqids))  # features would cost ~200 bytes each
            for c in dict.fromkeys(columns[-1][0].tolist()):  # upstream's order: first appearance
                order.setdefault(c, len(order))
        cid_of = {seqid: cid for cid, seqid, _, _ in coords}
        for seqid, masked in self._masks().items():
            if seqid in cid_of:
                columns.append(self._columns([(cid_of[seqid], *m[1:]) for m in masked], seqids))
        features = self._features(columns)
        out = []
        for cid, seqid, length, sha1 in coords:
            plus, minus = features.get(cid, (StrandFeatures.empty(), StrandFeatures.empty()))
            out.append(Coordinate(cid, seqid, length, plus, minus, sha1 or ""))
        out.sort(key=lambda c: (-c.length, order.get(c.id, len(order)), c.id))
        return out

    def _masks(self) -> dict[str, list]:
        """helixer-import2geenuff's masked regions (pseudogenes, ...) as error features, by seqid (a database
        without the table, e.g. upstream's import, has none)."""
        if not self.con.execute("SELECT 1 FROM sqlite_master WHERE name = 'helixer_tools_mask'").fetchone():
            return {}
        out: dict[str, list] = {}
        for seqid, start, end, strand in self.con.execute('SELECT seqid, start, "end", strand FROM helixer_tools_mask'):
            for plus in {"+": (1,), "-": (0,)}.get(strand, (1, 0)):  # '.': both strands
                # as GeenuFF stores features: plus [start, end), minus start > end (end - 1, start - 1)
                span = (start, end) if plus else (end - 1, start - 1)
                out.setdefault(seqid, []).append((None, None, "mask", "masked", *span, plus, None))
        return out

    def _columns(self, rows: list, seqids: dict[int, str]) -> tuple[np.ndarray, ...]:
        """Query rows -> (coordinate id, kind, start, end, plus, phase) arrays; an unknown type is an error."""
        cid, _, fid, ftype, start, end, is_plus, phase = zip(*rows)
        kinds = {}
        for t in set(ftype):
            kind = FEATURE_KINDS.get(t)
            if kind is None:
                if t not in ERROR_TYPES and t != "masked":
                    bad = ftype.index(t)
                    raise UserError(f"{self.path}: feature {fid[bad]} on {seqids.get(cid[bad], cid[bad])} has unknown "
                                    f"type {t!r}")
                kind = ERROR
            kinds[t] = kind
        return (np.asarray(cid, dtype=np.int64), np.array([kinds[t] for t in ftype], dtype=np.int8),
                np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64), np.asarray(is_plus, dtype=bool),
                np.array([p or 0 for p in phase], dtype=np.int8))

    @staticmethod
    def _features(columns: list[tuple[np.ndarray, ...]]) -> dict[int, tuple[StrandFeatures, StrandFeatures]]:
        """Per coordinate id, its plus- and minus-strand features, sorted by min(start, end) (stable)."""
        if not columns:
            return {}
        cid, kind, start, end, plus, phase = (np.concatenate(c) for c in zip(*columns))
        # GeenuFF's minus strand: start > end, both 0-based, start inclusive -> slice [end + 1, start + 1)
        lo, hi = np.where(plus, start, end + 1), np.where(plus, end, start + 1)
        order = np.lexsort((np.minimum(start, end), cid))  # stable: ties keep the query's order
        cid, kind, lo, hi, plus, phase = (a[order] for a in (cid, kind, lo, hi, plus, phase))
        bounds = np.flatnonzero(np.diff(cid)) + 1
        out = {}
        for a, b in zip(np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [len(cid)]]).tolist()):
            strands = []
            for want in (True, False):
                sel = plus[a:b] == want
                strands.append(StrandFeatures(kind[a:b][sel], lo[a:b][sel], hi[a:b][sel], phase[a:b][sel]))
            out[int(cid[a])] = (strands[0], strands[1])
        return out

    def sequence(self, coord: Coordinate, start: int, end: int) -> bytes:
        """Bases [start, end) of a sequence, read incrementally (the whole sequence is never loaded)."""
        with self.con.blobopen("coordinate", "sequence", coord.id, readonly=True) as blob:
            blob.seek(start)
            seq = blob.read(end - start)
        if len(seq) != end - start:
            raise UserError(f"{self.path}: sequence of {coord.seqid} is shorter than its length {coord.length}")
        seq = seq.upper()
        if bad := seq.translate(None, VALID_BASES):
            pos = start + next(i for i, b in enumerate(seq) if b == bad[0]) + 1
            raise UserError(f"{self.path}: sequence {coord.seqid}, position {pos}: "
                            f"character {chr(bad[0])!r} is not an IUPAC nucleotide code")
        return seq
