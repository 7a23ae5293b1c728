"""The pipeline's scatter and gather steps: ``python -m helixer_tools.cli.chunks scatter|gather``.

Not a tool of its own (no Galaxy wrapper: Galaxy users annotate a genome in one job); Nextflow's annotate
route uses it to predict and decode a large genome in parallel tasks."""

from __future__ import annotations

import argparse
import logging
import sys

from . import common

DESCRIPTION = """\
scatter: write a genome FASTA (plain or compressed) as files of consecutive whole sequences of about
--chunk-bases bases each (PREFIX.00001.fa, PREFIX.00002.fa, ...; a longer sequence is a file of its own).
gather: join the helixer-post GFF3s of those files, in genome order, into one GFF3 with one header and
unique gene ids: the GFF3 that helixer-post writes for the whole genome.

example: python -m helixer_tools.cli.chunks scatter --fasta genome.fa.gz --chunk-bases 100000000 --prefix genome
         python -m helixer_tools.cli.chunks gather --gff3 genome.00001.gff3 genome.00002.gff3 --output genome.gff3
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helixer-chunks", description=DESCRIPTION,
                                     formatter_class=common.HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {common.__version__}")
    sub = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    scatter = argparse.ArgumentParser(add_help=False)
    g = scatter.add_argument_group("required arguments")
    g.add_argument("--fasta", required=True, metavar="FASTA", help="genome FASTA (plain, gzip, xz or bzip2)")
    g.add_argument("--chunk-bases", required=True, type=common.positive_int, metavar="N",
                   help="bases per file, about: whole sequences are added until a file holds N or more")
    g.add_argument("--prefix", required=True, metavar="PREFIX", help="files are PREFIX.00001.fa, PREFIX.00002.fa, ...")
    gather = argparse.ArgumentParser(add_help=False)
    g = gather.add_argument_group("required arguments")
    g.add_argument("--gff3", required=True, nargs="+", metavar="GFF3",
                   help="helixer-post GFF3s of disjoint sequence groups, in genome order (or give --fasta)")
    common.output_option(g, "--output", "-o", required=True, metavar="GFF3", help="the gathered GFF3")
    o = gather.add_argument_group("options")
    o.add_argument("--fasta", metavar="FASTA", default=None,
                   help="the genome FASTA: parts are gathered in the order of its sequences (default: as given)")
    for name, parent, text in (("scatter", scatter, "a genome as files of whole sequences"),
                               ("gather", gather, "one GFF3 from the files' GFF3s")):
        sub.add_parser(name, help=text, description=f"helixer-chunks {name}: {text}.",
                       formatter_class=common.HelpFormatter, parents=[parent, common.common_parser()])
    return parser


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from ..chunks import gather_gff3, scatter_fasta

    if args.step == "scatter":
        groups = scatter_fasta(args.fasta, args.chunk_bases, args.prefix)
        for path, ids, bases in groups:
            logging.info("%s: %d sequence(s), %d bases", path, len(ids), bases)
    else:
        genes = gather_gff3(args.gff3, args.output, args.fasta)
        logging.info("%s: %d genes from %d part(s)", args.output, genes, len(args.gff3))


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
