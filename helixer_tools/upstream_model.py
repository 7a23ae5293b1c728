"""Read upstream Helixer checkpoints (Keras 2 HDF5) without deserialising their Keras config.

Upstream's configs hold ``TFOpLambda``/``SlicingOpLambda`` layers that Keras 3 cannot rebuild, so the
HybridModel hyper-parameters are recovered from the layer list instead, and the weights are read per
layer from ``model_weights/<layer>`` in the order of its ``weight_names`` attribute. Three shapes exist:

- a whole HybridModel (trained from scratch, route 1 ``--resume-training``, or route 2 ``--fine-tune``,
  which replaces the final ``dense`` and so looks the same);
- a coverage-tuned model (``--fine-tune --input-coverage``): input width 4 + 2C, the pretrained trunk
  nested as a frozen sub-model ``model`` cut at the layer two before its ``dense`` (for models without
  dropout that drops the last BiLSTM layer), then concat with the coverage, an optional linear hidden
  ``dense`` and the output ``dense``/``dense_1``.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

from .errors import UserError
from .model import Coverage, Head, ModelSpec, Trunk


def _text(raw) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _layer_weights(group: h5py.Group, source: str) -> dict[str, list[np.ndarray]]:
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


def read_upstream(f: h5py.File, source: str) -> tuple[ModelSpec, dict[str, list[np.ndarray]]]:
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
        weights = _layer_weights(weights_group, source)
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
    weights = _layer_weights(weights_group, source)  # the nested trunk's layers are keyed by their own names
    top = {name: weights.pop(name) for name in [d["name"] for d in dense]}
    weights["dense"] = top[dense[-1]["name"]]
    if hidden:
        weights["hidden"] = top[dense[0]["name"]]
    return spec, weights
