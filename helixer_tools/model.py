"""The Helixer HybridModel in Keras 3: its description, how it is built, saved and loaded.

A model is fully described by a :class:`ModelSpec` (JSON-serialisable), and built from it by
:func:`build`. Our checkpoints are HDF5 files holding that spec (attribute ``helixer_tools_model``)
and every layer's weights (``weights/<layer>/<i>``), so inference needs nothing else. Upstream
checkpoints (Keras 2 HDF5 whose configs hold ``TFOpLambda`` layers Keras 3 cannot deserialise, and
coverage-tuned ones with a nested frozen sub-model) are read the same way: the spec is recovered from
their ``model_config`` and the weights copied layer by layer from ``model_weights``. Our models exported
for upstream (helixer-export-model) are Keras 2 files that keep the spec attribute, read by both.

Network (layer names as upstream's Keras auto-names, so weights map one to one)::

    dna (B, L, 4) -> conv1d [-> batch_normalization_k -> conv1d_k] x (cnn_layers - 1)
      -> reshape (pool_size bp -> 1 step) [-> dropout] -> bidirectional_k x lstm_layers
      [-> dropout_1] -> dense (pool_size * 8) -> genic, phase softmax (B, L/pool, pool, 4) each

A *head* model (fine-tuning routes 2 and 3) keeps the first ``join_lstm_layers`` BiLSTM layers of the
trunk frozen and puts new layers after them: [coverage (B, L, 2C) reshaped to pool_size * 2C per step
and concatenated] -> [hidden Dense(hidden_units), linear] -> dense (pool_size * 8) -> the two heads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from . import __version__
from .atomic import atomic_path
from .errors import UserError

SPEC_ATTR = "helixer_tools_model"
FORMAT_VERSION = 1
ROUTES = ("scratch", "whole", "head", "coverage", "upstream")
COVERAGE_NORMS = ("log", "linear", "none")

log = logging.getLogger("helixer_tools")


@dataclass(frozen=True)
class Trunk:
    """HybridModel hyper-parameters (upstream HybridModel.py option names, defaults as upstream's CLI)."""

    cnn_layers: int = 1
    filter_depth: int = 32
    kernel_size: int = 26
    pool_size: int = 9
    lstm_layers: int = 1
    units: int = 32
    dropout1: float = 0.0
    dropout2: float = 0.0

    def __post_init__(self):
        for name in ("cnn_layers", "filter_depth", "kernel_size", "pool_size", "units"):
            if getattr(self, name) < 1:
                raise UserError(f"model option {name.replace('_', '-')} must be at least 1, not {getattr(self, name)}")
        if self.lstm_layers < 0:
            raise UserError(f"model option lstm-layers must be at least 0, not {self.lstm_layers}")
        for name in ("dropout1", "dropout2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise UserError(f"model option {name} must be in [0, 1), not {getattr(self, name)}")


@dataclass(frozen=True)
class Coverage:
    """RNA-seq coverage fed to a route-3 head: which datasets, how normalised, from which BAMs."""

    prefix: str = "rnaseq"
    channels: int = 1  # C: BAM columns; the model reads 2C values per bp (coverage, spliced coverage)
    norm: str = "log"  # log: ln(x + 1.1); linear: x / 100; none: raw counts (upstream's default)
    columns: tuple = ()  # BAM identities (helixer-add-coverage's helixer_tools_columns), when known

    def __post_init__(self):
        if self.norm not in COVERAGE_NORMS:
            raise UserError(f"coverage normalisation {self.norm!r} is not one of {', '.join(COVERAGE_NORMS)}")
        if self.channels < 1:
            raise UserError("a coverage model needs at least one coverage column")


@dataclass(frozen=True)
class Head:
    """New layers trained on a frozen trunk (fine-tuning routes 2 and 3)."""

    join_lstm_layers: int  # trunk BiLSTM layers kept before the new layers
    hidden_units: int = 0  # 0: no hidden layer
    coverage: Coverage | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a model and feed it the right inputs."""

    trunk: Trunk
    head: Head | None = None
    route: str = "scratch"
    provenance: dict = field(default_factory=dict, compare=False)  # pretrained model, training options

    def __post_init__(self):
        if self.route not in ROUTES:
            raise UserError(f"route {self.route!r} is not one of {', '.join(ROUTES)}")
        if self.head is not None and not 0 <= self.head.join_lstm_layers <= self.trunk.lstm_layers:
            raise UserError(f"cannot join new layers after BiLSTM layer {self.head.join_lstm_layers} of a "
                            f"trunk with {self.trunk.lstm_layers}")

    @property
    def coverage(self) -> Coverage | None:
        return self.head.coverage if self.head else None

    @property
    def trainable_trunk(self) -> bool:
        return self.head is None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["format_version"] = FORMAT_VERSION
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "model") -> "ModelSpec":
        try:
            data = json.loads(text)
            head = data.get("head")
            if head is not None:
                cov = head.get("coverage")
                if cov is not None:
                    cov = Coverage(**{**cov, "columns": tuple(cov.get("columns", ()))})
                head = Head(**{**head, "coverage": cov})
            return cls(trunk=Trunk(**data["trunk"]), head=head, route=data["route"],
                       provenance=data.get("provenance", {}))
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"{source}: the model description is not readable ({e})") from None

    def describe(self) -> str:
        t = self.trunk
        text = (f"{t.cnn_layers} conv x {t.filter_depth} filters (kernel {t.kernel_size}), pool {t.pool_size}, "
                f"{t.lstm_layers} BiLSTM x {t.units} units")
        if self.head:
            text += f"; new layers after BiLSTM {self.head.join_lstm_layers}"
            if self.head.hidden_units:
                text += f", hidden {self.head.hidden_units}"
            if self.coverage:
                text += f", {self.coverage.channels} coverage column(s) ({self.coverage.norm})"
        return text


def with_coverage_norm(spec: ModelSpec, norm: str | None, source: str) -> ModelSpec:
    """``spec`` with another coverage normalisation: only for upstream models, which do not record theirs;
    ours must be given their own."""
    if norm is None:
        return spec
    if spec.coverage is None:
        raise UserError(f"{source}: is not a coverage model; a coverage normalisation does not apply")
    if spec.route != "upstream" and norm != spec.coverage.norm:
        raise UserError(f"{source}: was trained with coverage normalisation {spec.coverage.norm!r}, not {norm!r}")
    return dataclasses.replace(spec, head=dataclasses.replace(
        spec.head, coverage=dataclasses.replace(spec.coverage, norm=norm)))


# --------------------------------------------------------------------------------------------- building

@contextlib.contextmanager
def _stderr_to_sink():
    """Send file descriptor 2 (where TensorFlow's C++ logging writes before it is configured) to a
    temporary file for the duration; replay what was caught if the block fails."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@functools.cache
def _keras():
    """Keras (TensorFlow backend), imported once. Unless debugging messages are on (--verbose), TensorFlow's
    C++, absl and Python logging are silenced before the import, so what a user sees are our messages;
    the one useful fact, the device it runs on, is logged as one line of ours."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    verbose = log.isEnabledFor(logging.DEBUG)
    if not verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        for module in ("tensorflow", "keras", "absl", "google.protobuf"):
            warnings.filterwarnings("ignore", module=module)
    quiet = contextlib.nullcontext() if verbose else _stderr_to_sink()
    try:
        with quiet:
            import keras
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
    except ImportError:
        raise UserError("TensorFlow/Keras are not installed: pip install 'helixer-tools[train]'") from None
    if not verbose:
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        logging.getLogger("absl").setLevel(logging.ERROR)
    if gpus:
        names = []
        for gpu in gpus:
            try:
                names.append(tf.config.experimental.get_device_details(gpu).get("device_name") or gpu.name)
            except (RuntimeError, ValueError):
                names.append(gpu.name)
        log.info("TensorFlow %s on GPU: %s", tf.__version__, ", ".join(names))
    else:
        log.info("TensorFlow %s on CPU (no GPU found)", tf.__version__)
    return keras


def _heads_layer(keras):
    class SplitHeads(keras.layers.Layer):
        """(B, T, pool*8) -> genic and phase logits, each (B, T, pool, 4); upstream's split + reshapes."""

        def __init__(self, pool_size: int, **kwargs):
            super().__init__(**kwargs)
            self.pool_size = pool_size

        def call(self, x):
            ops = keras.ops
            shape = ops.shape(x)
            x = ops.reshape(x, (shape[0], shape[1], 2, self.pool_size, 4))
            return x[:, :, 0], x[:, :, 1]

        def compute_output_shape(self, shape):
            out = (shape[0], shape[1], self.pool_size, 4)
            return out, out

    return SplitHeads


def trunk_layer_names(trunk: Trunk, lstm_layers: int | None = None) -> list[str]:
    """Names of the trunk's layers that carry weights, in order (upstream's Keras auto-names)."""
    names = ["conv1d"]
    for k in range(1, trunk.cnn_layers):
        names += [f"batch_normalization{'' if k == 1 else f'_{k - 1}'}", f"conv1d_{k}"]
    n = trunk.lstm_layers if lstm_layers is None else lstm_layers
    names += ["bidirectional" if k == 0 else f"bidirectional_{k}" for k in range(n)]
    return names


def build(spec: ModelSpec):
    """A Keras model for ``spec``: inputs ``dna`` (and ``coverage``), outputs ``genic`` and ``phase``."""
    keras = _keras()
    layers = keras.layers
    t = spec.trunk
    dna = layers.Input(shape=(None, 4), name="dna")
    inputs = [dna]
    x = dna
    for k in range(t.cnn_layers):
        if k:
            x = layers.BatchNormalization(name=f"batch_normalization{'' if k == 1 else f'_{k - 1}'}")(x)
        x = layers.Conv1D(t.filter_depth, t.kernel_size, padding="same", activation="relu",
                          name="conv1d" if k == 0 else f"conv1d_{k}")(x)
    x = layers.Reshape((-1, t.pool_size * t.filter_depth), name="reshape")(x)
    if t.dropout1 > 0:
        x = layers.Dropout(t.dropout1, name="dropout")(x)
    n_lstm = t.lstm_layers if spec.head is None else spec.head.join_lstm_layers
    for k in range(n_lstm):
        x = layers.Bidirectional(layers.LSTM(t.units, return_sequences=True, name=f"lstm{'' if k == 0 else f'_{k}'}"),
                                 name="bidirectional" if k == 0 else f"bidirectional_{k}")(x)
    trunk_names = set(trunk_layer_names(t, n_lstm))
    if spec.head is None:
        if t.dropout2 > 0:
            x = layers.Dropout(t.dropout2, name="dropout_1")(x)
    else:
        cov = spec.head.coverage
        if cov is not None:
            cov_in = layers.Input(shape=(None, 2 * cov.channels), name="coverage")
            inputs.append(cov_in)
            c = layers.Reshape((-1, t.pool_size * 2 * cov.channels), name="coverage_steps")(cov_in)
            x = layers.Concatenate(axis=-1, name="join_coverage")([x, c])
        if spec.head.hidden_units:
            x = layers.Dense(spec.head.hidden_units, name="hidden")(x)
    x = layers.Dense(t.pool_size * 8, name="dense")(x)
    genic, phase = _heads_layer(keras)(t.pool_size, name="split_heads")(x)
    genic = layers.Activation("softmax", name="genic", dtype="float32")(genic)
    phase = layers.Activation("softmax", name="phase", dtype="float32")(phase)
    model = keras.Model(inputs=inputs, outputs=[genic, phase], name="helixer_hybrid")
    if spec.head is not None:  # routes 2 and 3: the pretrained trunk stays as it is (BatchNorm in inference mode)
        for layer in model.layers:
            if layer.name in trunk_names:
                layer.trainable = False
    return model


def weighted_layers(model) -> list:
    return [layer for layer in model.layers if layer.weights]


def set_weights(model, weights: dict[str, list[np.ndarray]], source: str, new: set[str] = frozenset()) -> None:
    """Copy ``{layer name: arrays}`` into ``model``; every layer with weights must be given, in shape,
    except the ``new`` ones, which keep their fresh initialisation when not given."""
    for layer in weighted_layers(model):
        if layer.name not in weights:
            if layer.name in new:
                continue
            raise UserError(f"{source}: has no weights for layer {layer.name!r}")
        arrays = weights[layer.name]
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            raise UserError(f"{source}: weights of layer {layer.name!r} have shapes {got}, the model needs {expected}")
        layer.set_weights(arrays)


def get_weights(model) -> dict[str, list[np.ndarray]]:
    return {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in weighted_layers(model)}


# --------------------------------------------------------------------------------------------- files

def file_md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(model, spec: ModelSpec, path: str | Path, argv: list[str] | None = None) -> None:
    """Write a checkpoint (spec + weights) under a temporary name, then rename it into place."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs[SPEC_ATTR] = spec.to_json()
        f.attrs["helixer_tools_tool"] = "helixer-train"
        f.attrs["helixer_tools_version"] = __version__
        if argv is not None:
            f.attrs["helixer_tools_argv"] = json.dumps(list(argv))
        group = f.create_group("weights")
        for name, arrays in get_weights(model).items():
            g = group.create_group(name)
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)


def read(path: str | Path) -> tuple[ModelSpec, dict[str, list[np.ndarray]]]:
    """The spec and weights of a checkpoint: ours, or upstream Helixer's (Keras 2 HDF5)."""
    path = str(path)
    try:
        f = h5py.File(path, "r")
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
                from .export import read_weights

                weights = read_weights(f, spec, path)
            else:
                raise UserError(f"{path}: the model has no weights")
            return spec, weights
        if "model_config" in f.attrs and "model_weights" in f:
            from .upstream_model import read_upstream

            return read_upstream(f, path)
        raise UserError(f"{path}: not a Helixer model (neither a helixer-tools checkpoint nor a Keras HDF5 model)")


def load(path: str | Path):
    """Build the model of a checkpoint and load its weights; returns (model, spec)."""
    spec, weights = read(path)
    model = build(spec)
    set_weights(model, weights, str(path))
    return model, spec
