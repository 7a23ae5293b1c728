"""helixer-split: training and validation h5 files, by whole sequences or by contiguous regions."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from . import common

DESCRIPTION = """\
Split one h5 (labels, with or without coverage) into training and validation sets, as upstream's
helixer_scratch n90_train_val_split.py does, but seeded and never silently empty.

By sequence (default): whole sequences go to one side, both strands together. Sequences are ranked by
size and cut at N90 (the large ones holding 90 % of the subsequences, and the small rest); each group
gives --val-fraction of its sequences (rounded up, drawn with --seed) to validation.

A genome of too few sequences for that (one chromosome, a chromosome-level assembly of two) is an
error that says so: use --by-region, which assigns contiguous blocks of --block-size bp (a multiple of
the subsequence length, both strands together) to either side, so no locus is on both.

Writes training_data.h5 and validation_data.h5 into --output-dir (the names HybridModel.py and
helixer-train --data-dir read), or to --training and --validation; --report lists what went where.

example: helixer-split --h5 confident.h5 --output-dir data/ --val-fraction 0.2 --report split.tsv
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--h5", "-i", "--h5-to-split", dest="h5", required=True, metavar="H5", help="h5 to split")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("outputs (--output-dir, or both --training and --validation)")
    g.add_argument("--output-dir", "-o", metavar="DIR", help="write DIR/training_data.h5 and DIR/validation_data.h5")
    common.output_option(g, "--training", metavar="H5", help="training h5 to write")
    common.output_option(g, "--validation", metavar="H5", help="validation h5 to write")
    common.output_option(g, "--report", metavar="TSV", help="what went where: per sequence (or block) and per side, "
                                                            "subsequences, bases and genic fraction")
    g = opts.add_argument_group("split options")
    g.add_argument("--val-fraction", type=common.number(float, 0, 1, low_open=True, high_open=True), default=0.2,
                   help="share of the sequences (per N90 group), or of the blocks, for validation")
    g.add_argument("--seed", type=common.number(int, 0), default=42, help="seed of the draw")
    g.add_argument("--by-region", action="store_true",
                   help="split contiguous blocks instead of whole sequences (genomes of one or a few sequences)")
    g.add_argument("--block-size", type=common.positive_int, default=None,
                   help="bp per block with --by-region, a multiple of the subsequence length "
                        "(default: about 1 Mbp)")
    return common.make_parser("helixer-split", DESCRIPTION, [required, opts])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from ..errors import UserError
    from ..split import split

    if args.block_size and not args.by_region:
        raise UserError("--block-size needs --by-region")
    made: list[Path] = []  # folders of --output-dir made here: removed again if the split fails
    if args.output_dir:
        if args.training or args.validation:
            raise UserError("give --output-dir or --training and --validation, not both")
        out = Path(args.output_dir)
        if out.exists() and not out.is_dir():
            raise UserError(f"--output-dir {out}: exists and is not a folder")
        made = [d for d in (out, *out.parents) if not d.exists()]
        out.mkdir(parents=True, exist_ok=True)
        training, validation = str(out / "training_data.h5"), str(out / "validation_data.h5")
    elif args.training and args.validation:
        training, validation = args.training, args.validation
    else:
        raise UserError("give --output-dir, or both --training and --validation")
    try:
        if args.output_dir:
            common.check_outputs([("--output-dir", training), ("--output-dir", validation)], [("--h5", args.h5)])
        split(args.h5, training, validation, args.val_fraction, args.seed,
              "region" if args.by_region else "sequence", args.block_size, args.report, ["helixer-split", *argv])
    except BaseException:
        for d in made:  # innermost first; only while empty (the outputs are written atomically)
            with contextlib.suppress(OSError):
                d.rmdir()
        raise


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
