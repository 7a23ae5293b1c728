"""Helixer checkpoint files, every format in one place: reading ours, upstream's and our exports, writing ours.

- **ours** (helixer-train): HDF5 with the model's description (attribute ``helixer_tools_model``, a
  :class:`~helixer_tools.spec.ModelSpec` as JSON) and every layer's weights (``weights/<layer>/<i>``), so
  inference needs nothing else;
- **upstream's** (Keras 2 HDF5): their configs hold ``TFOpLambda``/``SlicingOpLambda`` layers that Keras 3
  cannot rebuild, so the HybridModel hyper-parameters are recovered from the layer list instead, and the
  weights are read per layer from ``model_weights/<layer>`` in the order of its ``weight_names``
  attribute. Two shapes exist: a whole HybridModel (trained from scratch, route 1
  ``--resume-training``, or route 2 ``--fine-tune``, which replaces the final ``dense`` and so looks the
  same), and a coverage-tuned model (``--fine-tune --input-coverage``: input width 4 + 2C, the
  pretrained trunk nested as a frozen sub-model ``model`` cut at the layer two before its ``dense`` (for
  models without dropout that drops the last BiLSTM layer), then concat with the coverage, an optional
  linear hidden ``dense`` and the output ``dense``/``dense_1``);
- **exported** (helixer-export-model writes them with helixer_tools.export): upstream's Keras 2 layout
  that keeps our description attribute, so both tools read it.

Weights are returned as ``{layer name: [arrays]}`` under our layer names (helixer_tools.model).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from . import __version__
from .atomic import atomic_path
from .h5io import h5file, new_small_h5
from .errors import UserError
from .spec import Coverage, Head, ModelSpec, Trunk

SPEC_ATTR = "helixer_tools_model"


def file_md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(spec: ModelSpec, weights: dict[str, list[np.ndarray]], path: str | Path,
          argv: list[str] | None = None) -> None:
    """Write one of our checkpoints (spec + weights) under a temporary name, then rename it into place."""
    with atomic_path(path) as tmp, new_small_h5(tmp) as f:
        f.attrs[SPEC_ATTR] = spec.to_json()
        f.attrs["helixer_tools_tool"] = "helixer-train"
        f.attrs["helixer_tools_version"] = __version__
        if argv is not None:
            f.attrs["helixer_tools_argv"] = json.dumps(list(argv))
        group = f.create_group("weights")
        for name, arrays in weights.items():
            g = group.create_group(name)
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)


def read(path: str | Path) -> tuple[ModelSpec, dict[str, list[np.ndarray]]]:
    """The spec and weights of a checkpoint: ours, or upstream Helixer's (Keras 2 HDF5)."""
    path = str(path)
    try:
        f = h5file(path, "r")
    except FileNotFoundError:
        raise UserError(f"{path}: no such model file") from None
    except OSError:
        raise UserError(f"{path}: not a Helixer model (not an HDF5 file; Keras 3 '.keras' files are not Helixer "
                        "checkpoints)") from None
    with f:
        if SPEC_ATTR in f.attrs:
            spec = ModelSpec.from_json(f.attrs[SPEC_ATTR], path)
            if "weights" in f:
                weights = {name: [g[str(i)][()] for i in range(len(g))] for name, g in f["weights"].items()}
            elif "model_weights" in f:  # helixer-export-model's Keras 2 layout
                weights = _read_exported(f, spec, path)
            else:
                raise UserError(f"{path}: the model has no weights")
            return spec, weights
        if "model_config" in f.attrs and "model_weights" in f:
            return _read_upstream(f, path)
        raise UserError(f"{path}: not a Helixer model (neither a helixer-tools checkpoint nor a Keras HDF5 model)")


def output_names(spec: ModelSpec) -> tuple[str | None, str]:
    """Upstream's names of (hidden, output) Dense layers: Keras auto-names them dense, dense_1 in order."""
    return ("dense", "dense_1") if spec.head and spec.head.hidden_units else (None, "dense")


def _read_exported(f: h5py.File, spec: ModelSpec, source: str) -> dict[str, list[np.ndarray]]:
    """The weights of an exported file under our layer names (upstream's dense/dense_1 -> hidden/dense)."""
    weights = layer_weights(f["model_weights"], source)
    hidden, output = output_names(spec)
    out = {name: arrays for name, arrays in weights.items() if name not in ("dense", "dense_1")}
    if output not in weights:
        raise UserError(f"{source}: the exported model has no weights for its output layer {output!r}")
    out["dense"] = weights[output]
    if hidden:
        out["hidden"] = weights[hidden]
    return out


# --------------------------------------------------------------------------------------- upstream's

def _text(raw) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def layer_weights(group: h5py.Group, source: str) -> dict[str, list[np.ndarray]]:
    """Arrays per layer of a Keras 2 ``model_weights`` group, in each layer's ``weight_names`` order.

    A nested model's group lists its own layers' weights (``conv1d/kernel:0``, ...), so arrays are keyed
    by the first component of each weight name, which is the layer that owns it.
    """
    out: dict[str, list[np.ndarray]] = {}
    try:
        for layer in group.attrs["layer_names"]:
            g = group[_text(layer)]
            for raw in g.attrs.get("weight_names", []):
                name = _text(raw)
                out.setdefault(name.split("/")[0], []).append(g[name][()])
    except KeyError as e:
        raise UserError(f"{source}: the Keras weights are incomplete ({e})") from None
    return out


def _trunk(layers: list[dict], source: str) -> tuple[dict, int, list[dict]]:
    """Hyper-parameters of the HybridModel layers in ``layers``; returns (params, BiLSTM count, rest)."""
    p: dict = {"cnn_layers": 0}
    n_lstm = 0
    rest: list[dict] = []
    for i, layer in enumerate(layers):
        kind, cfg = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            continue
        if kind == "Conv1D":
            p["cnn_layers"] += 1
            p["filter_depth"] = cfg["filters"]
            p["kernel_size"] = cfg["kernel_size"][0]
            if cfg.get("padding") != "same" or cfg.get("activation") != "relu":
                raise UserError(f"{source}: layer {layer['name']} is not a HybridModel convolution")
        elif kind == "BatchNormalization":
            pass
        elif kind == "Reshape" and "pool_size" not in p:
            width = cfg["target_shape"][-1]
            if not p.get("filter_depth") or width % p["filter_depth"]:
                raise UserError(f"{source}: layer {layer['name']} is not HybridModel's pooling reshape")
            p["pool_size"] = width // p["filter_depth"]
        elif kind == "Dropout":
            p["dropout2" if n_lstm else "dropout1"] = float(cfg["rate"])
        elif kind == "Bidirectional":
            n_lstm += 1
            p["units"] = cfg["layer"]["config"]["units"]
        else:
            rest = layers[i:]
            break
    if not p["cnn_layers"] or "pool_size" not in p:
        raise UserError(f"{source}: not a Helixer HybridModel (no convolution and pooling reshape found)")
    return p, n_lstm, rest


def _read_upstream(f: h5py.File, source: str) -> tuple[ModelSpec, dict[str, list[np.ndarray]]]:
    try:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{source}: not a Helixer model (its Keras model_config is not readable)") from None
    weights_group = f["model_weights"]
    nested = [layer for layer in layers if layer["class_name"] in ("Functional", "Model")]
    provenance = {"upstream_model": source, "keras_version": str(f.attrs.get("keras_version", ""))}

    if not nested:  # a whole HybridModel
        params, n_lstm, rest = _trunk(layers, source)
        dense = [layer for layer in rest if layer["class_name"] == "Dense"]
        if len(dense) != 1:
            raise UserError(f"{source}: not a Helixer HybridModel (expected one Dense layer after the BiLSTMs, "
                            f"found {len(dense)})")
        units = dense[0]["config"]["units"]
        if units != params["pool_size"] * 8:
            raise UserError(f"{source}: the model's output layer has {units} units, not {params['pool_size'] * 8}; "
                            "models without phase prediction (Helixer < 0.3.7) are not supported")
        spec = ModelSpec(trunk=Trunk(lstm_layers=n_lstm, units=params.pop("units", 32), **params),
                         route="upstream", provenance=provenance)
        weights = layer_weights(weights_group, source)
        weights["dense"] = weights[dense[0]["name"]]
        return spec, weights

    # a coverage-tuned model: nested frozen trunk + coverage + new layers
    sub = nested[0]
    params, n_lstm, _ = _trunk(sub["config"]["layers"], source)
    width = layers[0]["config"].get("batch_input_shape", [None, None, 4])[-1]
    if width is None or width <= 4 or (width - 4) % 2:
        raise UserError(f"{source}: coverage model input width {width} is not 4 + 2 x coverage columns")
    channels = (width - 4) // 2
    dense = [layer for layer in layers if layer["class_name"] == "Dense"]
    if not 1 <= len(dense) <= 2 or dense[-1]["config"]["units"] != params["pool_size"] * 8:
        raise UserError(f"{source}: not a Helixer coverage model (unexpected layers after the coverage join)")
    hidden = dense[0]["config"]["units"] if len(dense) == 2 else 0
    # the coverage normalisation is applied by upstream's data loader and is not in the file
    spec = ModelSpec(
        trunk=Trunk(lstm_layers=n_lstm, units=params.pop("units", 32), **params),
        head=Head(join_lstm_layers=n_lstm, hidden_units=hidden,
                  coverage=Coverage(prefix="rnaseq", channels=channels, norm="log")),
        route="upstream", provenance={**provenance, "coverage_norm": "not recorded upstream; log assumed"},
    )
    weights = layer_weights(weights_group, source)  # the nested trunk's layers are keyed by their own names
    top = {name: weights.pop(name) for name in [d["name"] for d in dense]}
    weights["dense"] = top[dense[-1]["name"]]
    if hidden:
        weights["hidden"] = top[dense[0]["name"]]
    return spec, weights
