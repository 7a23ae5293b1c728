"""helixer-select: the most confidently predicted subsequences, as pseudolabels for routes 2 and 3."""

from __future__ import annotations

import argparse
import sys

from . import common

DESCRIPTION = """\
Keep the subsequences whose labels the model predicts most confidently: the fine-tuning guide's
pseudolabels for route 2/3 without a reference annotation (upstream: helixer_scratch
filter-to-most-certain.py). The labels are usually the model's own gene models (helixer-post ->
helixer-import2geenuff -> helixer-geenuff2h5); the predictions are its raw predictions.

Rows are matched on sequence id, start and end (never on row order), padding handled. A row's distance
is the mean over its labelled bases (sample weight > 0) of sum |label - prediction| over the four
classes (0 to 2). So the selection is not all intergenic, rows are ranked by intergenic fraction and cut
into --strata groups of equal size (ties by position: many wholly intergenic rows fill some strata
instead of collapsing them), and each keeps --keep-fraction of its rows, those of lowest distance.
Same inputs, same selection, whatever the row order.

Writes the kept rows of the labels h5 (every per-row dataset, coverage and its BAM identities included,
attributes kept), a table of every row (--table) and a plot of distance against intergenic fraction with
the kept rows marked (--plot).

example: helixer-select --labels pseudo_labels.h5 --predictions predictions.h5 --output confident.h5 \\
             --keep-fraction 0.5 --table rows.tsv --plot rows.png
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--labels", "--h5-to-filter", dest="labels", required=True, metavar="H5",
                     help="labels h5 (helixer-geenuff2h5, with or without coverage) to select rows of")
    req.add_argument("--predictions", "-p", required=True, metavar="H5",
                     help="raw predictions h5 of the same genome (helixer-predict, or upstream HybridModel.py)")
    common.output_option(req, "--output", "-o", "--output-file", dest="output", required=True, metavar="H5",
                              help="h5 with the kept rows")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("selection options")
    g.add_argument("--keep-fraction", type=common.number(float, 0, 1, low_open=True), default=0.5,
                   help="share of the subsequences (with labelled bases) to keep; 1 keeps them all, unfiltered (the "
                        "guide: consider skipping the filter when the predictions are already good), still marked "
                        "as pseudolabels for helixer-train and with the table and plot")
    g.add_argument("--strata", type=common.number(int, 1, 1000), default=6,
                   help="equal-sized groups by intergenic fraction, each keeping its share")
    common.output_option(g, "--table", metavar="TSV",
                            help="every row: seqid, start, end, strand, valid bases, distance, intergenic fraction, stratum, kept")
    common.output_option(g, "--plot", metavar="PNG", help="distance against intergenic fraction, kept rows marked")
    g = opts.add_argument_group("predictions of upstream Helixer")
    g.add_argument("--h5", metavar="H5", help="the genome h5 the predictions were made on, for predictions that do not "
                                              "name their rows (upstream's)")
    g.add_argument("--predictions-padding", choices=("end", "start"), default=None,
                   help="where padded minus-strand rows of the predictions have their padding; helixer-predict "
                        "records it; upstream HybridModel.py >= 0.3.6: start")
    return common.make_parser("helixer-select", DESCRIPTION, [required, opts])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    if args.plot:
        from ..plots import require_matplotlib

        require_matplotlib("--plot")
    from ..progress import Progress
    from ..select import select

    from ..h5io import h5file

    try:
        with h5file(args.labels, "r") as f:
            total = f["data/seqids"].shape[0]
    except (OSError, KeyError):
        total = 0  # select() names the problem
    with Progress(total, "subsequences scored", unit="rows", enabled=not args.quiet) as bar:
        rows = select(args.labels, args.predictions, args.output, args.keep_fraction, args.strata, args.h5,
                      args.predictions_padding, args.table, args.plot, ["helixer-select", *argv], bar.update)
    valid = rows.valid > 0
    kept = rows.kept
    mean = lambda d: f"{d.mean():.4f}" if len(d) else "-"  # noqa: E731 (none kept, or all)
    common.log.info("kept %d of %d subsequences with labelled bases (%d without); mean distance %s kept, %s not "
                    "kept -> %s", kept.sum(), valid.sum(), (~valid).sum(), mean(rows.distance[kept]),
                    mean(rows.distance[valid & ~kept]), args.output)


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
