"""helixer-predict: base-wise predictions of a Helixer model (ours or upstream's) on an h5 file."""

from __future__ import annotations

import argparse
import sys

from ..spec import COVERAGE_NORMS
from . import common

DESCRIPTION = """\
Predict genic classes (intergenic, UTR, CDS, intron) and phase for every base of a Helixer h5
(helixer-fasta2h5 output; with helixer-add-coverage for coverage models) and write an h5 with
`predictions` and `predictions_phase`, (rows, L, 4) float16, the input of HelixerPost.

The model may be a helixer-train checkpoint or an upstream Helixer model (.h5), coverage-tuned ones
included (no --pretrained-model-path needed). A coverage model reads the coverage it was trained with
and refuses coverage from another number or order of BAMs. The numbers are upstream's; unlike upstream
(>= 0.3.6), padded minus-strand rows keep their padding at the end, aligned with data/X, so HelixerPost
finds genes on both strands of short contigs (Helixer #197).

--overlap predicts overlapping windows and averages their centres, as upstream's --overlap.

example: helixer-predict --model land_plant_v0.3_a_0080.h5 --h5 genome.h5 --output predictions.h5 --overlap
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--model", "-l", "--load-model-path", dest="model", required=True, metavar="H5",
                     help="model: a helixer-train checkpoint or an upstream Helixer .h5")
    req.add_argument("--h5", "--test-data", dest="h5", required=True, metavar="H5",
                     help="h5 to predict on (helixer-fasta2h5; helixer-add-coverage for coverage models)")
    common.output_option(req, "--output", "-o", "-p", "--prediction-output-path", dest="output", required=True, metavar="H5",
                              help="predictions h5 to write")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("prediction options")
    g.add_argument("--overlap", action="store_true",
                   help="predict overlapping windows and average them (better predictions at subsequence edges)")
    g.add_argument("--overlap-offset", type=common.positive_int, default=None,
                   help="step between windows in bp (default: half the subsequence length)")
    g.add_argument("--core-length", type=common.positive_int, default=None,
                   help="central part of each window that is kept (default: 3/4 of the subsequence length, "
                        "1 bp less where the subsequence length minus it would be odd)")
    g.add_argument("--batch-size", "--val-test-batch-size", dest="batch_size", type=common.positive_int, default=None,
                   help="subsequences (windows, with --overlap) per model call (default: as many as hold 32 x 21384 "
                        "bp, upstream's default batch: 32 at 21384 bp, more for shorter subsequences)")
    g.add_argument("--coverage-norm", choices=COVERAGE_NORMS, default=None,
                   help="coverage normalisation of an upstream coverage model (upstream does not record it; "
                        "default log); must match for our models")
    return common.make_parser("helixer-predict", DESCRIPTION, [required, opts, common.h5_output_parser()])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from ..predict import predict_h5

    predict_h5(args.model, args.h5, args.output, overlap=args.overlap, offset=args.overlap_offset,
               core=args.core_length, batch_size=args.batch_size, coverage_norm=args.coverage_norm,
               compression=args.compression, compression_level=args.compression_level, threads=args.threads,
               argv=["helixer-predict", *argv], progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
