"""GeenuFF database -> Helixer label h5 (y, phases, transitions, sample_weights, gene_lengths, flags).

Rows come from one of two places:

- given the h5 of helixer-fasta2h5 (``h5_in``), the output has exactly that file's rows, in its order,
  each row's labels found by (seqid, start, end) - never by row index, because upstream's fasta2h5
  (FASTA order) and geenuff2h5 (longest sequence first) order sequences differently - and ``data/X``
  is copied from it by HDF5, still compressed;
- given only the database, rows are laid out as upstream geenuff2h5 does (longest sequence first) and
  ``data/X`` is encoded from the sequences stored in the database.

Labels are computed in windows of whole subsequences (see ``labels.split_points``), encoded and
compressed in worker threads, so memory stays bounded whatever the genome size. Sequences shorter
than a window (a draft assembly's contigs) are laid end to end, each from a whole row, and labelled
together, so the cost follows rows, not the number of sequences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .encoding import encode, encode_reverse_complement
from .errors import UserError
from .geenuff_db import Coordinate, GeenuffDB
from .h5io import (
    DEFAULT_GZIP_LEVEL, DEFAULT_SUBSEQUENCE_LENGTH, SEQID_BYTES, SPECIES_BYTES, H5Writer, RowDataset, check_name,
    check_same_genome, check_subsequence_length, digests_of, grouped, h5file, layout, per_row, read_all, rows_by_sequence,
    run_ordered, start_ends, write_digests,
)
from .labels import StrandFeatures, StrandLabels, label_window, split_points
from .progress import Progress

log = logging.getLogger("helixer_tools")

WINDOW_BP = 1_000_000  # labels are computed this many bp (rounded to subsequences) at a time
LABELS = {  # dataset -> (row shape after L, dtype)
    "y": ((4,), np.int8),
    "sample_weights": ((), np.int8),
    "gene_lengths": ((), np.uint32),
    "phases": ((4,), np.int8),
    "transitions": ((6,), np.int8),
}


@dataclass
class Rows:
    """Where each (sequence, strand, subsequence) goes in the output."""

    plus: dict[str, np.ndarray]  # seqid -> output row of plus chunk k
    minus: dict[str, np.ndarray]  # seqid -> output row of minus chunk k (same bases as plus chunk k)
    n_rows: int


def _rows_from_layout(coords: list[Coordinate], L: int) -> Rows:
    seqs = layout(((c.seqid, c.length) for c in coords), L)
    plus = {s.seqid: np.array([s.plus_row(k) for k in range(s.n_chunks)]) for s in seqs}
    minus = {s.seqid: np.array([s.minus_row(k) for k in range(s.n_chunks)]) for s in seqs}
    return Rows(plus, minus, sum(2 * s.n_chunks for s in seqs))


def _rows_from_h5(path: str, f: h5py.File, coords: list[Coordinate], L: int) -> Rows:
    """Map every subsequence of the database's sequences to its row in the given h5, checking both agree."""
    seqs = rows_by_sequence(path, read_all(f["data/seqids"]), read_all(f["data/start_ends"]), L)
    by_id = {c.seqid: c for c in coords}
    if missing := [s for s in seqs if s not in by_id]:
        raise UserError(f"{path}: sequence {missing[0]!r} (and {len(missing) - 1} more) is not in the database")
    if missing := [c.seqid for c in coords if c.seqid not in seqs]:
        raise UserError(f"{path}: database sequence {missing[0]!r} (and {len(missing) - 1} more) is not in this h5 file")
    for name, seq in seqs.items():
        if seq.length != by_id[name].length:
            raise UserError(f"{path}: sequence {name} is {seq.length} bp here but {by_id[name].length} bp in the "
                            "database (was it made from another FASTA?)")
    return Rows({n: s.plus for n, s in seqs.items()}, {n: s.minus for n, s in seqs.items()}, len(f["data/seqids"]))


def _chunk(arr: np.ndarray, a: int, b: int, L: int) -> np.ndarray:
    """Bases [a, b) of a window array (already in the strand's 5'->3' order), zero-padded at the end."""
    if b - a == L:
        return arr[a:b]
    out = np.zeros((L,) + arr.shape[1:], dtype=arr.dtype)
    out[: b - a] = arr[a:b]
    return out


@dataclass(frozen=True)
class _Piece:
    """Subsequences w0..w1 of one sequence (with their bases when data/X is encoded here)."""

    coord: Coordinate
    w0: int
    w1: int
    seq: bytes | None

    def span(self, L: int) -> tuple[int, int]:
        return self.w0 * L, min(self.w1 * L, self.coord.length)


def _frame(pieces: list[_Piece], L: int, plus: bool) -> tuple[StrandFeatures, int, int, list[int], list[int]]:
    """One strand's features of ``pieces`` laid end to end, each piece from a whole-row offset.

    Returns (features, window start, window end, offset of each piece's first base, breaks). A single
    piece keeps its own coordinates, so a long sequence's window is labelled in place.
    """
    if len(pieces) == 1:
        p = pieces[0]
        start, end = p.span(L)
        return (p.coord.plus if plus else p.coord.minus), start, end, [0], []
    offsets, parts, breaks, at = [], [], [], 0
    for p in pieces:  # whole sequences (w0 = 0)
        f = p.coord.plus if plus else p.coord.minus
        parts.append(StrandFeatures(f.kind, f.start + at, f.end + at, f.phase))
        offsets.append(at)
        breaks += [at, at + p.coord.length]
        at += p.w1 * L
    joined = StrandFeatures(*(np.concatenate([getattr(f, k) for f in parts]) for k in ("kind", "start", "end", "phase")))
    return joined, 0, at, offsets, breaks


def _label_job(pieces: list[_Piece], L: int, rows: Rows, datasets: dict[str, RowDataset],
               flags: dict[str, np.ndarray], X: RowDataset | None):
    """Label (and, with bases, encode) the pieces' subsequences on both strands, in one labelling per strand."""
    writes = []
    for plus in (True, False):
        features, start, end, offsets, breaks = _frame(pieces, L, plus)
        n = end - start
        labels: StrandLabels = label_window(features, plus, start, end, breaks)  # in the strand's 5'->3' order
        arrays = {name: getattr(labels, name) for name in datasets}
        targets = rows.plus if plus else rows.minus
        for piece, offset in zip(pieces, offsets):
            coord = piece.coord
            first = piece.w0 * L
            for k in range(piece.w0, piece.w1):
                a, b = k * L - first, min((k + 1) * L, coord.length) - first  # within the piece
                lo, hi = (offset + a, offset + b) if plus else (n - offset - b, n - offset - a)
                row = int(targets[coord.seqid][k])
                chunks = {name: _chunk(arr, lo, hi, L) for name, arr in arrays.items()}
                flags["err_samples"][row] = chunks["sample_weights"].any()
                flags["fully_intergenic_samples"][row] = (chunks["y"][:, 0] == 1).all()
                flags["is_annotated"][row] = coord.annotated
                writes += [(ds, row, ds.encode(chunks[name])) for name, ds in datasets.items()]
                if piece.seq is not None:
                    bases = piece.seq[a:b]
                    writes.append((X, row, X.encode(encode(bases, L) if plus else encode_reverse_complement(bases, L))))
    return writes


def geenuff_to_h5(
    db_path: str | Path,
    output: str | Path,
    h5_in: str | Path | None = None,
    subsequence_length: int | None = None,
    compression: str = "gzip",
    compression_level: int = DEFAULT_GZIP_LEVEL,
    threads: int = 1,
    argv: Sequence[str] = (),
    progress: bool = True,
    window_bp: int = WINDOW_BP,
) -> int:
    """Write the label h5 ``output``; returns its number of rows."""
    db = GeenuffDB(db_path)
    species = check_name("species", db.species, SPECIES_BYTES).decode()
    coords = db.coordinates()
    if not coords:
        raise UserError(f"{db_path}: the database holds no sequences")
    for c in coords:
        check_name(f"{db_path}: sequence id", c.seqid, SEQID_BYTES)
    log.info("%s: species %s, %d sequences, %d annotated", db_path, species, len(coords),
             sum(c.annotated for c in coords))

    src = None
    try:
        if h5_in is not None:
            try:
                src = h5file(h5_in, "r")
            except OSError as e:
                raise UserError(f"{h5_in}: cannot open as h5: {e}") from None
            for key in ("data/X", "data/seqids", "data/species", "data/start_ends"):
                if key not in src:
                    raise UserError(f"{h5_in}: has no {key} (expected the output of helixer-fasta2h5)")
            L = src["data/X"].shape[1]
            if subsequence_length is not None and subsequence_length != L:
                raise UserError(f"{h5_in}: subsequences are {L} bp, but --subsequence-length {subsequence_length} was given")
            h5_species = {s.decode() for s in np.unique(read_all(src["data/species"]))}
            if h5_species != {species}:
                raise UserError(f"{h5_in}: species {', '.join(sorted(h5_species))} differs from the database's {species!r}")
            check_same_genome(str(h5_in), digests_of(src), str(db_path), {c.seqid: c.sha1 for c in coords if c.sha1})
            rows = _rows_from_h5(str(h5_in), src, coords, L)
        else:
            L = check_subsequence_length(subsequence_length or DEFAULT_SUBSEQUENCE_LENGTH)
            rows = _rows_from_layout(coords, L)
        N = rows.n_rows
        total_bp = sum(c.length for c in coords)

        with H5Writer(output, compression, compression_level) as out:
            if src is not None:
                for key in ("data/seqids", "data/species", "data/start_ends"):
                    src.copy(src[key], out.file, key)  # in HDF5 itself: rows of one-row chunks add up
            else:
                seqs = layout(((c.seqid, c.length) for c in coords), L)
                out.create("data/seqids", (N,), f"S{SEQID_BYTES}",
                           per_row(seqs, [c.seqid.encode() for c in coords]).astype(f"S{SEQID_BYTES}"))
                out.create("data/species", (N,), f"S{SPECIES_BYTES}", np.full(N, species.encode(), f"S{SPECIES_BYTES}"))
                out.create("data/start_ends", (N, 2), np.int64, start_ends(seqs, L))
            write_digests(out.file, {c.seqid: c.sha1 for c in coords if c.sha1})
            datasets = {name: out.row_dataset(f"data/{name}", (N, L) + shape, dtype) for name, (shape, dtype) in LABELS.items()}
            flags = {name: np.zeros(N, dtype=bool) for name in ("err_samples", "fully_intergenic_samples", "is_annotated")}
            X = None if src is not None else out.row_dataset("data/X", (N, L, 4), np.float16)
            inputs = {"db": str(db_path)} | ({"h5": str(h5_in)} if h5_in else {})
            out.provenance("helixer-geenuff2h5", argv, inputs)
            out.file.attrs["input_path"] = str(db_path)

            window_chunks = max(1, round(window_bp / L))

            def jobs():
                short = []  # sequences of at most a window, labelled together
                # in the order of their rows: chunks are then stored in file order, which HDF5 does faster
                for c in sorted(coords, key=lambda c: int(rows.plus[c.seqid][0])):
                    if -(-c.length // L) <= window_chunks:
                        short.append(c)
                        continue
                    points = split_points([c.plus, c.minus], c.length, L, window_chunks)
                    for w0, w1 in zip(points, points[1:]):
                        seq = db.sequence(c, w0 * L, min(w1 * L, c.length)) if X is not None else None
                        piece = _Piece(c, w0, w1, seq)
                        a, b = piece.span(L)
                        yield partial(_label_job, [piece], L, rows, datasets, flags, X), b - a
                for group in grouped(short, lambda c: -(-c.length // L), window_chunks):
                    pieces = [_Piece(c, 0, -(-c.length // L), db.sequence(c, 0, c.length) if X is not None else None)
                              for c in group]
                    yield partial(_label_job, pieces, L, rows, datasets, flags, X), sum(c.length for c in group)

            with Progress(total_bp, "geenuff2h5", enabled=progress) as bar:
                run_ordered(jobs(), threads, bar.update)
            for name, values in flags.items():
                out.create(f"data/{name}", (N,), bool, values)
            if src is not None:
                log.info("copying data/X from %s", h5_in)
                src.copy(src["data/X"], out.file, "data/X")  # still compressed
        return N
    finally:
        if src is not None:
            src.close()
        db.close()
