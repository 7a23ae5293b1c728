"""helixer-fasta2h5: genome FASTA -> Helixer h5 (the model's DNA input)."""

from __future__ import annotations

import argparse
import sys

from ..fasta2h5 import fasta_to_h5
from . import common

DESCRIPTION = """\
Encode a genome FASTA (plain, gzip, xz or bzip2) as the h5 file Helixer's models read: data/X (one-hot
C,A,T,G; N = 0.25; IUPAC codes split evenly), data/seqids, data/species, data/start_ends.
Every sequence is cut into subsequences; rows hold all plus-strand subsequences, then all
minus-strand ones, both 5'->3', the short last one zero-padded at the end, exactly as upstream
fasta2h5.py writes them. The whole file is checked before anything is written: duplicate ids, empty
records and non-IUPAC characters are errors naming the record; ids longer than 50 characters are
an error listing them, or, with --rename-map, stored short (the first 50 characters when unique, as
upstream truncates) with a map that helixer-post reads back.

example: helixer-fasta2h5 --fasta genome.fa.gz --species Athaliana --output genome.h5 --threads 4
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--fasta", "-f", "--fasta-path", dest="fasta", required=True, metavar="FASTA",
                     help="genome FASTA, plain or gzip/bgzip, xz or bzip2 compressed")
    req.add_argument("--species", "-s", required=True,
                     help="species name stored in data/species (at most 25 characters)")
    common.output_option(req, "--output", "-o", "--h5-output-path", dest="output", required=True, metavar="H5",
                              help="h5 file to write (written under a temporary name, renamed when complete)")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("sequence ids")
    common.output_option(g, "--rename-map", metavar="TSV", default=None,
                         help="store ids longer than the 50 characters the h5 holds as short ones and write the map "
                              "(h5_id, fasta_id) here; helixer-post --rename-map puts the full ids back in the GFF3. "
                              "Without it such ids are an error")
    return common.make_parser("helixer-fasta2h5", DESCRIPTION,
                              [required, opts, common.subsequence_parser(), common.h5_output_parser()])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    fasta_to_h5(args.fasta, args.output, args.species, subsequence_length=args.subsequence_length,
                compression=args.compression, compression_level=args.compression_level,
                threads=args.threads, rename_map=args.rename_map, argv=argv, progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
