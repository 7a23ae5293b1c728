"""helixer-evaluate: base-wise F1 of predictions against reference labels, several prediction files side by side."""

from __future__ import annotations

import argparse
import sys

from . import common

DESCRIPTION = """\
Score predictions (helixer-predict, or upstream HybridModel.py) against reference labels
(helixer-geenuff2h5) base by base, as upstream Helixer scores its models: confusion matrices of the
genic classes (intergenic, UTR, CDS, intron) and of phase, F1 per class, genic F1 (micro over UTR, CDS,
intron), sub-genic F1 (CDS, intron) and phase F1 (phase 0-2). Bases in GeenuFF error regions and
padding are not counted. Rows are matched on sequence id, start and end.

Give several prediction files (e.g. the pretrained model's and the fine-tuned model's) to see them side
by side, with each one's difference to the first.

example: helixer-evaluate --labels val_labels.h5 --predictions pretrained.h5 tuned.h5 \\
             --names pretrained tuned --output metrics.tsv --json metrics.json --plot metrics.png
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--labels", required=True, metavar="H5", help="labelled h5 (helixer-geenuff2h5) of the same genome")
    req.add_argument("--predictions", "-p", nargs="+", required=True, metavar="H5",
                     help="predictions h5 file(s); the first is the reference of the differences")
    common.output_option(req, "--output", "-o", required=True, metavar="TSV",
                              help="table: one row per metric, one column per predictions file (+ differences)")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("evaluation options")
    g.add_argument("--names", nargs="+", metavar="NAME", help="a name for each predictions file (default: file names)")
    common.output_option(g, "--json", metavar="JSON", help="also write the scores and confusion matrices as JSON")
    common.output_option(g, "--plot", metavar="PNG", help="F1 bars side by side and each file's genic confusion matrix")
    g.add_argument("--predicted-h5", nargs="+", metavar="H5",
                   help="the h5 each predictions file was predicted on, for predictions that do not name their "
                        "rows (upstream's); one for all or one per file")
    g.add_argument("--predictions-padding", choices=("auto", "start", "end"), default="auto",
                   help="where padded minus-strand rows of the predictions have their padding: auto = 'end' for "
                        "helixer-predict files, 'start' otherwise (upstream >= 0.3.6)")
    return common.make_parser("helixer-evaluate", DESCRIPTION, [required, opts])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from ..evaluate import evaluate, report, write_outputs

    results = evaluate(args.labels, args.predictions, args.names, args.predicted_h5, args.predictions_padding)
    write_outputs(results, args.output, args.json, args.plot)
    header, rows = report(results)
    for row in rows[:3]:
        common.log.info("%s: %s", row[0], ", ".join(f"{h} {v:.4f}" for h, v in zip(header[1:], row[1:])))


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
