"""helixer-train: train Helixer's HybridModel from scratch or fine-tune a pretrained one (three routes)."""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys

from ..spec import COVERAGE_NORMS, PHASE_CLASS_WEIGHTS
from . import common

DESCRIPTION = """\
Train Helixer's HybridModel on labelled h5 files (helixer-geenuff2h5, with helixer-add-coverage for
route 3). Choose one route; each takes only the options that apply to it:

  scratch   a new model of the given architecture
  whole     route 1: every layer of a pretrained model trained further (upstream -l M --resume-training)
  head      route 2: the pretrained network frozen, a new final layer (optionally after a new hidden
            layer) trained (upstream --fine-tune)
  coverage  route 3: as head, with RNA-seq coverage and spliced coverage joining before the new
            layer(s) (upstream --fine-tune --input-coverage)
  resume    go on training a checkpoint (ours or upstream's) with the route it was made with
            (upstream --fine-tune-resume / --resume-training)

Pretrained models may be upstream Helixer .h5 files (e.g. land_plant_v0.3_a_0080.h5) or our checkpoints.
The model is validated every --check-every batches and at each epoch end; the checkpoint is written
whenever the --checkpoint-metric improves (default: the mean of validation genic F1, the micro-F1 over
UTR, CDS and intron, and coding phase F1), and training stops after --patience checks without improvement.
Fine-tuning validates the starting model first (check 0), so the output is never worse on the
validation data than the pretrained model. The new layers of head and coverage start as the pretrained
model's output layer (--fresh-head: at random, as upstream). Each check is a row of --metrics; --plot
draws them.

examples:
  helixer-train head --pretrained land_plant_v0.3_a_0080.h5 --training train.h5 --validation val.h5 \\
      --class-weights 0.7,1.6,1.2,1.2 --transition-weights 1,12,3,1,12,3 --output tuned.h5
  helixer-train coverage --pretrained land_plant_v0.3_a_0080.h5 --data-dir h5s/ --hidden-units auto \\
      --output tuned_cov.h5 --metrics tuned_cov.tsv --plot tuned_cov.png

See `helixer-train ROUTE --help` for each route's options.
"""

ROUTE_HELP = {
    "scratch": "train a new model of the given architecture",
    "whole": "route 1: fine-tune every layer of a pretrained model",
    "head": "route 2: frozen pretrained network + new final (and optional hidden) layer",
    "coverage": "route 3: as head, with RNA-seq coverage joining before the new layer(s)",
    "resume": "go on training a checkpoint with the route it was made with",
}


def weights_list(count: int, what: str, some_positive: bool = False):
    def parse(text: str) -> tuple[float, ...]:
        fields = [f for f in re.split(r"[\s,]+", text.strip().strip("[]()")) if f]
        try:
            values = tuple(float(f) for f in fields)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers") from None
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"{what} need {count} values, got {len(values)} in {text!r}")
        if any(v < 0 or v != v or v == float("inf") for v in values):
            raise argparse.ArgumentTypeError(f"{what} must be finite and not negative: {text!r}")
        if some_positive and not any(values):
            raise argparse.ArgumentTypeError(f"{what} are all zero: every base would weigh nothing and nothing "
                                             f"would be learned: {text!r}")
        return values

    return parse


positive_float = common.number(float, low=0, low_open=True)
non_negative_float = common.number(float, low=0)
dropout = common.number(float, low=0, high=1, high_open=True)
non_negative_int = common.number(int, low=0)


def _data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data (--training and --validation, or --data-dir)")
    g.add_argument("--training", nargs="+", metavar="H5", help="labelled training h5 file(s)")
    g.add_argument("--validation", nargs="+", metavar="H5", help="labelled validation h5 file(s)")
    g.add_argument("--data-dir", "-d", metavar="DIR",
                   help="directory with training_data*.h5 and validation_data*.h5, as upstream's --data-dir")
    return p


def _output_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("outputs")
    common.output_option(g, "--output", "-o", "--save-model-path", "-s", dest="output", required=True, metavar="H5",
                            help="checkpoint to write: the best model by validation genic F1 (a self-describing h5)")
    common.output_option(g, "--metrics", metavar="TSV", help="per-check table: losses, genic/sub-genic/phase F1, F1 per class")
    common.output_option(g, "--plot", metavar="PNG", help="training curves (loss and validation F1 per check)")
    return p


def _optimisation_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("optimisation (defaults as upstream HybridModel.py)")
    g.add_argument("--learning-rate", type=positive_float, default=None,
                   help="learning rate (default: the route's: scratch and whole 3e-4, upstream's default; head and "
                        "coverage 1e-2, where a head on the frozen network reached a better model than at 1e-3 or "
                        "1e-4; head on pseudolabels (helixer-select's output) 1e-3; resume: the checkpoint's own. "
                        "docs/benchmarks.md has the measurements; the guide's recipe: 1e-4)")
    g.add_argument("--batch-size", "-b", type=common.positive_int, default=8, help="training batch size (subsequences)")
    g.add_argument("--val-batch-size", "--val-test-batch-size", dest="val_batch_size", type=common.positive_int,
                   default=32, help="validation batch size")
    g.add_argument("--epochs", "-e", type=common.positive_int, default=10000, help="most epochs to train")
    g.add_argument("--patience", type=common.positive_int, default=3,
                   help="stop after this many checks without a better checkpoint metric")
    g.add_argument("--checkpoint-metric", choices=("genic+coding-phase", "genic+phase", "genic", "loss"),
                   default="genic+coding-phase",
                   help="what a validation check must improve to be saved: the mean of genic F1 and coding phase "
                        "F1 (the phase the gene models use: phases 0-2 where CDS is called), the mean of genic F1 "
                        "and phase F1, genic F1 alone (upstream, which lets phase F1 fall while genic F1 rises), "
                        "or the validation loss")
    g.add_argument("--check-every", "--check-every-nth-batch", dest="check_every", type=common.positive_int,
                   default=None, help="also validate every this many batches (default: at epoch ends only)")
    g.add_argument("--class-weights", type=weights_list(4, "class weights", some_positive=True), default=None,
                   metavar="W,W,W,W",
                   help="loss weights of intergenic, UTR, CDS, intron (upstream's guide: 0.7,1.6,1.2,1.2; "
                        "default: unweighted)")
    g.add_argument("--transition-weights", type=weights_list(6, "transition weights"), default=None,
                   metavar="W,W,W,W,W,W",
                   help="loss weights of steps holding a transcript start, start codon, donor, transcript end, stop "
                        "codon, acceptor (upstream's guide: 1,12,3,1,12,3; default: unweighted)")
    g.add_argument("--phase-class-weights", type=weights_list(4, "phase class weights", some_positive=True),
                   default=PHASE_CLASS_WEIGHTS, metavar="W,W,W,W",
                   help="loss weights of no phase, phase 0, 1, 2 (default: 1,3,3,3: the three phases share the "
                        "coding bases, so the phase output calls a phase where coding is likelier than not, not "
                        "only where it is 3/4 likely; 1,1,1,1 is upstream's loss)")
    g.add_argument("--optimizer", choices=("adamw", "adam"), default="adamw", help="optimizer")
    g.add_argument("--weight-decay", type=non_negative_float, default=3.5e-5,
                   help="AdamW weight decay per step, as upstream's (tensorflow_addons) AdamW applies it")
    g.add_argument("--clip-norm", type=positive_float, default=3.0, help="clip each gradient to this norm")
    g.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of initialisation and shuffling: the same seed and data give the same model")
    return p


def _architecture_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("architecture (upstream HybridModel.py defaults; the released v0.3 models use "
                             "--cnn-layers 4 --filter-depth 96 --kernel-size 10 --lstm-layers 3 --units 128)")
    g.add_argument("--cnn-layers", type=common.positive_int, default=1, help="convolution layers")
    g.add_argument("--filter-depth", type=common.positive_int, default=32, help="filters per convolution")
    g.add_argument("--kernel-size", type=common.positive_int, default=26, help="convolution kernel size (bp)")
    g.add_argument("--pool-size", type=common.positive_int, default=9,
                   help="bp pooled into one LSTM step (the subsequence length must be a multiple)")
    g.add_argument("--lstm-layers", type=common.positive_int, default=1, help="bidirectional LSTM layers")
    g.add_argument("--units", "-u", type=common.positive_int, default=32, help="units of each LSTM direction")
    g.add_argument("--dropout1", type=dropout, default=0.0, help="dropout before the LSTM layers")
    g.add_argument("--dropout2", type=dropout, default=0.0, help="dropout after the LSTM layers")
    return p


def _pretrained_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("pretrained model")
    g.add_argument("--pretrained", "-l", "--load-model-path", dest="pretrained", required=True, metavar="H5",
                   help="whole pretrained model: an upstream Helixer .h5 or a helixer-train checkpoint")
    return p


def hidden_units(text: str) -> int | str:
    if text == "auto":  # train.HIDDEN_AUTO (train is imported only to run)
        return text
    try:
        return non_negative_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number of units (0 or more) nor auto") from None


def _head_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("new layers")
    g.add_argument("--hidden-units", type=hidden_units, default=None, metavar="N|auto",
                   help="add a hidden (linear) Dense layer of this many units before the new final layer (default: "
                        "none for head, auto for coverage, where it made the better gene models); 0: none; "
                        "auto: as wide as the output layer (pool size x 8 = 72), so the new layers start exactly as "
                        "the pretrained model. Fewer units than the rank of the pretrained output layer (the "
                        "trunk's width, at most 72) start from an approximation of it, and the tool warns "
                        "(upstream --post-coverage-hidden-layer is 16, from random weights)")
    g.add_argument("--fresh-head", action="store_true",
                   help="start the new layers from random weights, as upstream --fine-tune does; by default they "
                        "start as the pretrained model's output layer (with a hidden layer: its best factorisation), "
                        "so training starts where the pretrained model is")
    return p


def _coverage_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("coverage")
    g.add_argument("--coverage-norm", choices=COVERAGE_NORMS, default="log",
                   help="coverage normalisation: log = ln(x + 1.1), linear = x / 100, none = raw counts "
                        "(upstream's default is none; its guide uses log)")
    g.add_argument("--join-at", choices=("auto", "last-lstm", "before-last-lstm"), default="auto",
                   help="where coverage joins the pretrained network: after its last BiLSTM layer, or before it "
                        "(upstream cuts there, dropping the last BiLSTM layer of the released models); auto: "
                        "before it when the pretrained model's genic F1 on the validation data is under 0.3 (far "
                        "from the species, where that made better gene models), else after it")
    g.add_argument("--dataset-prefix", default="rnaseq",
                   help="read evaluation/PREFIX_coverage and evaluation/PREFIX_spliced_coverage")
    return p


def _resume_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("checkpoint")
    g.add_argument("--checkpoint", "-l", "--load-model-path", dest="checkpoint", required=True, metavar="H5",
                   help="model to go on training: a helixer-train checkpoint or an upstream Helixer .h5")
    g.add_argument("--head-only", action="store_true",
                   help="train only the final layer of a whole model (an upstream route-2 model resumed with "
                        "--fine-tune-resume); other checkpoints keep the route they were made with")
    g.add_argument("--coverage-norm", choices=COVERAGE_NORMS, default=None,
                   help="coverage normalisation of an upstream coverage model (upstream files do not record it; "
                        "default log); must match for our checkpoints")
    return p


ROUTE_PARENTS = {
    "scratch": [_architecture_parser],
    "whole": [_pretrained_parser],
    "head": [_pretrained_parser, _head_parser],
    "coverage": [_pretrained_parser, _head_parser, _coverage_parser],
    "resume": [_resume_parser],
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helixer-train", description=DESCRIPTION,
                                     formatter_class=common.HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {common.__version__}")
    sub = parser.add_subparsers(dest="route", metavar="ROUTE", required=True)
    for route, parents in ROUTE_PARENTS.items():
        sub.add_parser(route, help=ROUTE_HELP[route], description=f"helixer-train {route}: {ROUTE_HELP[route]}.",
                       formatter_class=common.HelpFormatter,
                       parents=[*(make() for make in parents), _data_parser(), _output_parser(),
                                _optimisation_parser(), common.common_parser()])
    return parser


def _files(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    from ..errors import UserError

    if args.data_dir:
        if args.training or args.validation:
            raise UserError("give --data-dir or --training/--validation, not both")
        training = sorted(glob.glob(os.path.join(args.data_dir, "training_data*.h5")))
        validation = sorted(glob.glob(os.path.join(args.data_dir, "validation_data*.h5")))
        if not training or not validation:
            raise UserError(f"{args.data_dir}: needs training_data*.h5 and validation_data*.h5 files "
                            f"(found {len(training)} and {len(validation)})")
        return training, validation
    if not args.training or not args.validation:
        raise UserError("give --training and --validation h5 files (or --data-dir)")
    return args.training, args.validation


def _route_learning_rate(args: argparse.Namespace, training: list[str], spec) -> None:
    """The learning rate a route sets for itself when the user gives none (docs/benchmarks.md), said in the log;
    a resumed checkpoint's own, as its ``spec`` records it."""
    from ..h5io import has_pseudolabels
    from ..spec import PSEUDOLABEL_LEARNING_RATE, ROUTE_LEARNING_RATES, UPSTREAM_LEARNING_RATE

    if args.learning_rate is not None:
        return
    if args.route == "resume":
        rate = spec.provenance.get("training_options", {}).get("learning_rate")
        args.learning_rate, why = (float(rate), "the checkpoint's own") if isinstance(rate, (int, float)) and rate > 0 \
            else (UPSTREAM_LEARNING_RATE, "upstream's default; the checkpoint does not record one")
    elif args.route == "head" and has_pseudolabels(training):
        args.learning_rate, why = PSEUDOLABEL_LEARNING_RATE, "the head route's on pseudolabels"
    else:
        args.learning_rate, why = ROUTE_LEARNING_RATES[args.route], f"the {args.route} route's"
        if args.route in ("scratch", "whole"):
            why += ", upstream's default"
    common.log.info("learning rate %g (%s; --learning-rate sets another)", args.learning_rate, why)


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from .. import train as T
    from ..spec import Trunk

    training, validation = _files(args)
    if getattr(args, "hidden_units", 0) is None:  # head: none; coverage: as wide as the output (benchmarks.md)
        args.hidden_units = "auto" if args.route == "coverage" else 0
    if args.plot:
        from ..plots import require_matplotlib

        require_matplotlib("--plot")
    if args.route == "scratch":
        spec, weights = T.scratch_spec(Trunk(args.cnn_layers, args.filter_depth, args.kernel_size, args.pool_size,
                                             args.lstm_layers, args.units, args.dropout1, args.dropout2))
    elif args.route == "whole":
        spec, weights = T.whole_spec(args.pretrained)
    elif args.route == "head":
        spec, weights = T.head_spec(args.pretrained, args.hidden_units, args.fresh_head)
    elif args.route == "coverage":
        spec, weights = T.coverage_spec(args.pretrained, args.hidden_units, args.coverage_norm, args.join_at,
                                        args.dataset_prefix, args.fresh_head, validation, args.threads)
    else:
        spec, weights = T.resume_spec(args.checkpoint, args.head_only, args.coverage_norm)
    _route_learning_rate(args, training, spec)
    opts = T.TrainOptions(epochs=args.epochs, batch_size=args.batch_size, val_batch_size=args.val_batch_size,
                          learning_rate=args.learning_rate, optimizer=args.optimizer, weight_decay=args.weight_decay,
                          clip_norm=args.clip_norm, patience=args.patience, check_every=args.check_every,
                          class_weights=args.class_weights, transition_weights=args.transition_weights,
                          phase_class_weights=args.phase_class_weights,
                          checkpoint_metric=args.checkpoint_metric, seed=args.seed, threads=args.threads)
    summary = T.train(spec, weights, training, validation, args.output, opts, metrics_path=args.metrics,
                      plot_path=args.plot, argv=["helixer-train", *argv], progress=not args.quiet)
    common.log.info("checkpoint %s: validation genic F1 %.4f, %s %.4f, best of %d check(s)", args.output,
                    summary["best_genic_f1"], args.checkpoint_metric, summary["best_score"], summary["checks"])
    common.log.info("training throughput: %.0f bases/s over %d batches", summary["train_bases_per_s"],
                    summary["batches"])


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
