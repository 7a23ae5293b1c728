"""The Helixer HybridModel in Keras 3: built from its description, saved and loaded.

A model is fully described by a :class:`~helixer_tools.spec.ModelSpec` (helixer_tools.spec) and built from
it by :func:`build`; its checkpoint files, ours and upstream's, are read and written by
helixer_tools.checkpoints (:func:`read` here is that module's), so this module is the one that needs Keras.

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
import functools
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from . import checkpoints
from .checkpoints import file_md5, read  # noqa: F401 (the checkpoint API callers use with the model)
from .errors import UserError
from .spec import ModelSpec, Trunk

log = logging.getLogger("helixer_tools")


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

def save(model, spec: ModelSpec, path: str | Path, argv: list[str] | None = None) -> None:
    """Write ``model`` as our checkpoint (helixer_tools.checkpoints.write), atomically."""
    checkpoints.write(spec, get_weights(model), path, argv)


def load(path: str | Path):
    """Build the model of a checkpoint and load its weights; returns (model, spec)."""
    spec, weights = read(path)
    model = build(spec)
    set_weights(model, weights, str(path))
    return model, spec
