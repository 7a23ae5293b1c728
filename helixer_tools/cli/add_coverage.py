"""helixer-add-coverage: add RNA-seq coverage from BAM files to a Helixer h5 (a new file)."""

from __future__ import annotations

import argparse
import sys

from ..add_coverage import add_coverage
from . import common

DESCRIPTION = """\
Count RNA-seq coverage from sorted, indexed BAM files and write a new h5 with everything of the
input plus evaluation/{prefix}_coverage and evaluation/{prefix}_spliced_coverage (one column per BAM;
-1 on padding; minus-strand rows reversed like data/X), the tracks coverage-tuned models read.
Counted as upstream add_ngs_coverage.py counts (identical arrays): unmapped, secondary and QC-failed
alignments are skipped, each mate counts, coverage from M/=/X, spliced coverage from N and D.
BAI or CSI index (CSI for chromosomes over 512 Mbp: samtools index -c); long-read CIGARs kept in the
CG tag are read from it.

Give the input's own coverage file to append columns (e.g. libraries of another strandedness). Which
BAM made which column is recorded, so training and inference can check coverage order and number.
When the input has labels (helixer-geenuff2h5), the share of coverage on the annotated strand is
reported and a strandedness that contradicts the data is a warning.

example: helixer-add-coverage --h5 labels.h5 --bam rep1.bam rep2.bam --second-read-is-sense-strand \\
             --output labels_cov.h5 --threads 4
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--h5", "-d", "--h5-data", dest="h5", required=True, metavar="H5",
                     help="input h5 (helixer-fasta2h5 or helixer-geenuff2h5 output); it is not modified")
    req.add_argument("--bam", "-b", nargs="+", required=True, metavar="BAM",
                     help="sorted BAM file(s) with a .bai or .csi index beside them; one coverage column each, in this "
                          "order")
    common.output_option(req, "--output", "-o", required=True, metavar="H5", help="h5 file to write")
    strand = req.add_mutually_exclusive_group(required=True)
    strand.add_argument("--second-read-is-sense-strand", dest="strandedness", action="store_const", const="second",
                        help="stranded library where read 2 (and single-end reads' reverse) has the transcript's "
                             "strand: dUTP, Illumina TruSeq Stranded, the common case")
    strand.add_argument("--first-read-is-sense-strand", dest="strandedness", action="store_const", const="first",
                        help="stranded library where read 1 has the transcript's strand (e.g. ligation, SOLiD)")
    strand.add_argument("--unstranded", dest="strandedness", action="store_const", const="unstranded",
                        help="unstranded library: coverage goes to the strand each read aligned to, as upstream")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("coverage options")
    g.add_argument("--dataset-prefix", default="rnaseq",
                   help="datasets are evaluation/PREFIX_coverage and evaluation/PREFIX_spliced_coverage; training "
                        "reads 'rnaseq' (upstream's default 'cage' is not read by training)")
    g.add_argument("--bai", nargs="+", default=None, metavar="BAI",
                   help="index (BAI or CSI) of each BAM, in the same order, when not found beside it as BAM.bai or "
                        "BAM.csi")
    g.add_argument("--species", "-s", default=None,
                   help="refuse an input h5 of another species (default: no check)")
    return common.make_parser("helixer-add-coverage", DESCRIPTION, [required, opts, common.h5_output_parser()])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    add_coverage(args.h5, args.bam, args.output, args.strandedness, prefix=args.dataset_prefix, species=args.species,
                 bam_indexes=args.bai, compression=args.compression, compression_level=args.compression_level,
                 threads=args.threads, argv=argv, progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
