"""Genome FASTA -> Helixer h5 (``data/X``, ``data/seqids``, ``data/species``, ``data/start_ends``).

Two streaming passes: ``fasta.scan`` validates the file and learns the lengths (so nothing is written
for a bad input and every row's place is known), then each subsequence is encoded on both strands and
compressed in worker threads. Memory is a few subsequences per thread, whatever the genome size.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .encoding import encode, encode_reverse_complement
from .atomic import write_text
from .errors import UserError
from .fasta import iter_sequences, scan, shortened
from .h5io import (
    DEFAULT_GZIP_LEVEL, DEFAULT_SUBSEQUENCE_LENGTH, SEQID_BYTES, SPECIES_BYTES, H5Writer, RowDataset,
    SequenceRows, check_name, check_subsequence_length, layout, per_row, run_ordered, start_ends, write_digests,
)
from .progress import Progress

log = logging.getLogger("helixer_tools")


def subsequences(pieces: Iterator[bytes], length: int) -> Iterator[bytes]:
    """Regroup a record's sequence pieces into subsequences of ``length`` bp (the last may be shorter)."""
    buf = bytearray()
    for piece in pieces:
        buf += piece
        while len(buf) >= length:
            yield bytes(buf[:length])
            del buf[:length]
    if buf:
        yield bytes(buf)


def _encode_both_strands(X: RowDataset, seq: SequenceRows, k: int, chunk: bytes, length: int):
    return [
        (X, seq.plus_row(k), X.encode(encode(chunk, length))),
        (X, seq.minus_row(k), X.encode(encode_reverse_complement(chunk, length))),
    ]


PADDING_WARNING = 0.5  # share of the h5 that is padding above which fasta2h5 suggests a shorter length


def fitting_length(records) -> int:
    """A subsequence length for short sequences: their N50, rounded up to a multiple of 9."""
    lengths = sorted((r.length for r in records), reverse=True)
    half, acc = sum(lengths) / 2, 0
    for n in lengths:
        acc += n
        if acc >= half:
            return max(9, -(-n // 9) * 9)
    return 9


def fasta_to_h5(
    fasta: str | Path,
    output: str | Path,
    species: str,
    subsequence_length: int = DEFAULT_SUBSEQUENCE_LENGTH,
    compression: str = "gzip",
    compression_level: int = DEFAULT_GZIP_LEVEL,
    threads: int = 1,
    rename_map: str | Path | None = None,
    argv: Sequence[str] = (),
    progress: bool = True,
) -> int:
    """Write ``output`` from ``fasta``; returns the number of rows (subsequences, both strands)."""
    length = check_subsequence_length(subsequence_length)
    species_raw = check_name("species", species, SPECIES_BYTES)
    log.info("checking %s", fasta)
    records = scan(fasta)
    too_long = [r.seqid for r in records if len(r.seqid.encode()) > SEQID_BYTES]
    if too_long and rename_map is None:
        raise UserError(f"{fasta}: {len(too_long)} sequence id(s) are longer than the {SEQID_BYTES} characters the h5 "
                        f"format holds ({', '.join(too_long[:3])}{', ...' if len(too_long) > 3 else ''}); give "
                        "--rename-map MAP.tsv to store short ids and write the map (helixer-post --rename-map "
                        "restores the names; upstream would truncate them silently)")
    short = shortened([r.seqid for r in records], SEQID_BYTES) if rename_map is not None else {}
    if short:
        log.info("%d sequence ids shortened to %d characters (the map: %s)", len(short), SEQID_BYTES, rename_map)
    records = [dataclasses.replace(r, seqid=short.get(r.seqid, r.seqid)) for r in records]
    seqs = layout(((r.seqid, r.length) for r in records), length)
    n_rows = sum(2 * s.n_chunks for s in seqs)
    total_bp = sum(r.length for r in records)
    log.info("%d sequences, %d bp, %d subsequences of %d bp", len(records), total_bp, n_rows, length)
    stored = n_rows // 2 * length
    if 1 - total_bp / stored > PADDING_WARNING:
        fit = fitting_length(records)
        smaller = sum(-(-r.length // fit) for r in records) * fit
        if stored / smaller >= 1.5:
            log.warning("%.0f%% of the h5 is padding: most sequences are much shorter than the subsequence length "
                        "%d (a draft assembly?); every later step costs by rows, and --subsequence-length %d (the "
                        "sequences' N50, rounded to a multiple of 9) would store %.1fx less", 100 * (1 - total_bp / stored),
                        length, fit, stored / smaller)

    if rename_map is not None:
        write_text(rename_map, "h5_id\tfasta_id\n" + "".join(f"{b}\t{a}\n" for a, b in short.items()))
    with H5Writer(output, compression, compression_level) as out:
        X = out.row_dataset("data/X", (n_rows, length, 4), np.float16)
        out.create("data/seqids", (n_rows,), f"S{SEQID_BYTES}",
                   per_row(seqs, [s.seqid.encode("ascii") for s in seqs]).astype(f"S{SEQID_BYTES}"))
        out.create("data/species", (n_rows,), f"S{SPECIES_BYTES}",
                   np.full(n_rows, species_raw, dtype=f"S{SPECIES_BYTES}"))
        out.create("data/start_ends", (n_rows, 2), np.int64, start_ends(seqs, length))
        write_digests(out.file, {r.seqid: r.sha1 for r in records})
        out.provenance("helixer-fasta2h5", argv, {"fasta": str(fasta)})

        def jobs():
            for seq, (seqid, pieces) in zip(seqs, iter_sequences(fasta)):
                assert short.get(seqid, seqid) == seq.seqid, (seqid, seq.seqid)
                for k, chunk in enumerate(subsequences(pieces, length)):
                    yield partial(_encode_both_strands, X, seq, k, chunk, length), len(chunk)

        with Progress(total_bp, "fasta2h5", enabled=progress) as bar:
            run_ordered(jobs(), threads, bar.update)
    return n_rows
