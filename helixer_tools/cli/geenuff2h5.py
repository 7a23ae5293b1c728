"""helixer-geenuff2h5: GeenuFF database -> Helixer training labels h5."""

from __future__ import annotations

import argparse
import sys

from ..geenuff2h5 import geenuff_to_h5
from . import common

DESCRIPTION = """\
Turn the gene models of a GeenuFF database (helixer-import2geenuff) into Helixer's training labels:
data/y (intergenic, UTR, CDS, intron), data/phases, data/transitions, data/sample_weights (0 on
GeenuFF error regions and padding), data/gene_lengths and the per-subsequence flags, exactly as
upstream geenuff2h5.py computes them (each gene's longest coding transcript).

Give --h5, the output of helixer-fasta2h5 for the same genome, to get a file whose rows are that
file's rows (matched by sequence id, start and end) with its data/X copied: the usual way, and the
way to keep labels row-aligned with predictions made from that file. Without --h5 the rows are laid
out as upstream does (longest sequence first) and data/X is encoded from the database.

example: helixer-geenuff2h5 --db genome.sqlite3 --h5 genome.h5 --output labels.h5 --threads 4
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--db", "-d", "--input-db-path", dest="db", required=True, metavar="SQLITE",
                     help="GeenuFF database holding one genome")
    common.output_option(req, "--output", "-o", "--h5-output-path", dest="output", required=True, metavar="H5",
                              help="label h5 to write")
    inputs = argparse.ArgumentParser(add_help=False)
    g = inputs.add_argument_group("rows")
    g.add_argument("--h5", metavar="H5", default=None,
                   help="helixer-fasta2h5 output of the same genome: keep its rows and copy its data/X "
                        "(default: lay out rows as upstream and encode data/X from the database)")
    g.add_argument("--subsequence-length", "-l", type=common.subsequence_length, default=None,
                   help="subsequence length, a multiple of 9; with --h5 it is that file's, and must match "
                        "if given (default without --h5: 21384)")
    return common.make_parser("helixer-geenuff2h5", DESCRIPTION, [required, inputs, common.h5_output_parser()])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    geenuff_to_h5(args.db, args.output, h5_in=args.h5, subsequence_length=args.subsequence_length,
                  compression=args.compression, compression_level=args.compression_level, threads=args.threads,
                  argv=argv, progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
