"""helixer-evaluate: predictions against the reference, base-wise (h5) and gene-level (GFF3), side by side."""

from __future__ import annotations

import argparse
import sys

from . import common

DESCRIPTION = """\
Score gene predictions against the reference, several side by side (e.g. the pretrained model's and the
fine-tuned model's), each with its difference to the first.

Base-wise (--labels, --predictions): predictions (helixer-predict, or upstream HybridModel.py) against
reference labels (helixer-geenuff2h5), as upstream Helixer scores its models: confusion matrices of the
genic classes (intergenic, UTR, CDS, intron) and of phase, F1 per class, genic F1 (micro over UTR, CDS,
intron), sub-genic F1 (CDS, intron) and phase F1 (phase 0-2). Bases in GeenuFF error regions and padding
are not counted. Rows are matched on sequence id, start and end.

Gene level (--reference, --gff3): predicted gene models (helixer-post, or any GFF3 or GTF) against the
reference's: sensitivity, precision and F1 of genes, mRNAs, exons, CDS exons, introns, intron chains
and exon and CDS bases, as GenomeTools' gt eval (and gffcompare, for intron chains) define them.
Coding genes only (Helixer predicts no others). --regions restricts it to the genes inside regions,
e.g. the held-out validation data's.

Give either or both; --html writes one self-contained report of everything, with plots.

examples:
  helixer-evaluate --labels val_labels.h5 --predictions pretrained.h5 tuned.h5 \\
      --names pretrained tuned --output metrics.tsv --plot metrics.png
  helixer-evaluate --reference genes.gff3 --gff3 pretrained.gff3 tuned.gff3 --names pretrained tuned \\
      --regions validation_data.h5 --labels validation_data.h5 --predictions pretrained.h5 tuned.h5 \\
      --output metrics.tsv --html report.html
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    common.output_option(req, "--output", "-o", required=True, metavar="TSV",
                         help="table: one row per metric (base-wise, then gene-level), one column per predictions "
                              "file (+ differences to the first)")
    base = argparse.ArgumentParser(add_help=False)
    b = base.add_argument_group("base-wise evaluation (h5 files)")
    b.add_argument("--labels", metavar="H5", help="labelled h5 (helixer-geenuff2h5) of the predicted genome")
    b.add_argument("--predictions", "-p", nargs="+", metavar="H5",
                   help="predictions h5 file(s); the first is the reference of the differences")
    b.add_argument("--predicted-h5", nargs="+", metavar="H5",
                   help="the h5 each predictions file was predicted on, for predictions that do not name their "
                        "rows (upstream's); one for all or one per file")
    b.add_argument("--predictions-padding", choices=("auto", "start", "end"), default="auto",
                   help="where padded minus-strand rows of the predictions have their padding: auto = 'end' for "
                        "helixer-predict files, 'start' otherwise (upstream >= 0.3.6)")
    common.output_option(b, "--plot", metavar="PNG", help="F1 bars side by side and each file's genic confusion matrix")
    gene = argparse.ArgumentParser(add_help=False)
    g = gene.add_argument_group("gene-level evaluation (GFF3 files)")
    g.add_argument("--reference", metavar="GFF3", help="reference gene models (GFF3 or GTF, plain or compressed; read as helixer-import2geenuff reads them)")
    g.add_argument("--gff3", nargs="+", metavar="GFF3",
                   help="predicted gene models (helixer-post), in the order of --predictions when both are given")
    g.add_argument("--regions", metavar="BED|H5",
                   help="compare only the genes lying wholly inside these regions: a BED file, or an h5 whose rows "
                        "are the regions (e.g. helixer-split's validation_data.h5)")
    opts = argparse.ArgumentParser(add_help=False)
    o = opts.add_argument_group("output options")
    o.add_argument("--names", nargs="+", metavar="NAME", help="a name for each predictions file (default: file names)")
    common.output_option(o, "--json", metavar="JSON", help="also write the scores, counts and confusion matrices as JSON")
    common.output_option(o, "--html", metavar="HTML",
                         help="one self-contained report (tables and plots, side by side) to open in a browser")
    return common.make_parser("helixer-evaluate", DESCRIPTION, [required, base, gene, opts])


def _check(args: argparse.Namespace) -> None:
    from ..errors import UserError

    if bool(args.labels) != bool(args.predictions):
        raise UserError("--labels and --predictions go together (base-wise evaluation)")
    if bool(args.reference) != bool(args.gff3):
        raise UserError("--reference and --gff3 go together (gene-level evaluation)")
    if not args.labels and not args.reference:
        raise UserError("nothing to evaluate: give --labels and --predictions (h5), --reference and --gff3 "
                        "(GFF3), or both")
    if args.predictions and args.gff3 and len(args.predictions) != len(args.gff3):
        raise UserError(f"{len(args.predictions)} --predictions but {len(args.gff3)} --gff3 files: give each "
                        "predictions file's gene models, in the same order")
    if args.plot and not args.labels:
        raise UserError("--plot shows the base-wise evaluation: give --labels and --predictions, or use --html")
    from ..plots import require_matplotlib

    for option in ("--plot", "--html"):
        if getattr(args, option[2:]):
            require_matplotlib(option)


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from pathlib import Path

    from ..evaluate import evaluate, report, write_outputs
    from ..gene_eval import evaluate_gff3

    _check(args)
    files = args.predictions or args.gff3
    names = list(args.names) if args.names else [Path(p).name for p in files]
    if len(names) != len(files):
        from ..errors import UserError

        raise UserError(f"{len(names)} --names for {len(files)} predictions")
    base = evaluate(args.labels, args.predictions, names, args.predicted_h5, args.predictions_padding) \
        if args.labels else None
    genes = evaluate_gff3(args.reference, args.gff3, names, args.regions) if args.reference else None
    inputs = {}
    if args.labels:
        inputs["reference labels"] = args.labels
    if args.reference:
        inputs["reference gene models"] = args.reference
    if args.regions:
        inputs["regions"] = args.regions
    for i, name in enumerate(names):
        inputs[name] = ", ".join(p for p in ((args.predictions or [None] * len(names))[i],
                                             (args.gff3 or [None] * len(names))[i]) if p)
    write_outputs(base, args.output, args.json, args.plot, genes, args.html, inputs)
    for results, keys in ((base, ("genic_f1", "phase_f1", "coding_phase_f1")), (genes, ("coding_gene_f1", "coding_transcript_f1", "cds_exon_f1", "gene_f1"))):
        if results:
            header, rows = report(results)
            for row in rows:
                if row[0] in keys:
                    common.log.info("%s: %s", row[0], ", ".join(f"{h} {v:.4f}" for h, v in zip(header[1:], row[1:])))


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
