"""helixer-import2geenuff: GFF3 + FASTA -> GeenuFF database (standardised gene models, error regions)."""

from __future__ import annotations

import argparse
import sys

from ..import2geenuff import import_to_geenuff
from . import common

DESCRIPTION = """\
Import gene models (GFF3 or GTF) and the genome (FASTA) into a GeenuFF SQLite database, the input of
helixer-geenuff2h5. GeenuFF standardises the gene models and flags regions whose annotation is
probably wrong (missing UTRs, start or stop codons, phase errors, overlapping exons, introns shorter
than --min-intron-length, ...); training gives them weight 0. GeenuFF's log of what it flagged is
written to --log.

The gene models are read by ID and Parent, in any order, and handed to GeenuFF nested as it needs
them: exons and introns listed a second time under the gene (ENA/EMBL submissions) are dropped,
transcripts without a gene get one, CDS-only transcripts get exons, intron/start/stop codon and
sequence-level rows are dropped; GTF (Ensembl, GENCODE, StringTie) is read too. Pseudogenes and
transposable element genes are masked in training (sample weight 0), not labelled intergenic.
--summary tabulates every change and what GeenuFF masked; a warning says when it masks more than 5%
of the coding bases.

Errors name the line: malformed lines, unknown feature types, parts of a transcript without a Parent,
a Parent naming no feature, a feature outside its parent, one ID used by features of different types
or sequences, sequence ids that are not in the FASTA or features past their end; and the FASTA checks
of helixer-fasta2h5. Plain, gzip, xz or bzip2 input. The outputs appear together, or none when the
import fails.

example: helixer-import2geenuff --gff3 genes.gff3 --fasta genome.fa --species Athaliana \\
             --output genome.sqlite3 --log import.log --summary import.tsv
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--gff3", "-g", required=True, metavar="GFF3",
                     help="gene models, GFF3 or GTF (plain, gzip, xz or bzip2)")
    req.add_argument("--fasta", "-f", required=True, metavar="FASTA",
                     help="genome sequence, FASTA (plain, gzip, xz or bzip2)")
    req.add_argument("--species", "-s", required=True, help="species name (at most 25 characters)")
    common.output_option(req, "--output", "-o", "--db-path", dest="output", required=True, metavar="SQLITE",
                              help="GeenuFF database to write")
    common.output_option(req, "--log", "--log-file", dest="log", required=True, metavar="LOG",
                              help="GeenuFF's import log to write (what was flagged and why)")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("import options")
    common.output_option(g, "--summary", metavar="TSV", default=None,
                         help="import summary to write: rows per feature type; what was dropped or added and why; "
                              "genes, transcripts and error regions in the database; coding bases masked")
    g.add_argument("--min-intron-length", type=common.positive_int, default=20,
                   help="introns shorter than this are flagged as errors (GeenuFF's min_intron_length)")
    g.add_argument("--accession", default="", help="genome accession, stored in the database")
    g.add_argument("--genome-version", default="", help="genome version, stored in the database")
    g.add_argument("--acquired-from", default="", help="genome source, stored in the database")
    return common.make_parser("helixer-import2geenuff", DESCRIPTION, [required, opts])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    import_to_geenuff(args.gff3, args.fasta, args.output, args.log, args.species, accession=args.accession,
                      genome_version=args.genome_version, acquired_from=args.acquired_from,
                      min_intron_length=args.min_intron_length, summary=args.summary, argv=argv,
                      progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
