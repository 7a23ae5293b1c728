"""Training: the routes of Helixer's fine-tuning guide as model specs, and one training loop for all.

Routes (one explicit choice; each takes only the options that make sense for it):

- ``scratch``: a new HybridModel of the given architecture.
- ``whole`` (guide route 1; upstream ``-l M --resume-training``): every layer of a pretrained model
  trained further.
- ``head`` (route 2; upstream ``--fine-tune``): the pretrained trunk frozen, a new final layer (and an
  optional hidden layer) trained after its last BiLSTM layer.
- ``coverage`` (route 3; upstream ``--fine-tune --input-coverage``): as ``head``, with RNA-seq coverage
  and spliced coverage joining the trunk's features before the new layer(s).
- ``resume``: go on training a checkpoint with the route it was made with (upstream
  ``--fine-tune-resume``, or ``--resume-training`` for whole models).

The loss is upstream's: categorical cross-entropy, 0.8 genic + 0.2 phase, weighted per step (see
training_data), with one addition: the phase classes are weighted (``phase_class_weights``, by default
no phase 1, phases 0-2 3 each; 1,1,1,1 is upstream's loss). The three phases share the coding bases, so
an unweighted phase output that cannot tell a base's phase gives each of them a third of the coding
probability and "no phase" wins its argmax wherever coding is less than about 3/4 likely: phase F1 fell
while the genic output improved (docs/benchmarks.md). Weighted by 3, the argmax of the phase output calls a
phase where coding is likelier than not, as the genic output does; the ratio of the three phases, all that
the gene models read, is unchanged. The model is validated every ``check_every`` batches and at each epoch
end; the checkpoint is written whenever the checkpoint metric improves (by default the mean of validation
genic and coding phase F1; upstream's is genic F1 alone, which let phase fall while genic F1 rose), and
training stops after ``patience`` checks without improvement. Fine-tuning validates the starting model first (check 0): the output is
never worse on the validation data than where training began. The new layers of ``head`` and
``coverage`` start as the pretrained output layer (:func:`warm_head`), unless asked to start at random.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import model as M
from .atomic import atomic_path, check_folder
from .errors import UserError
from .metrics import Scores
from .spec import PHASE_CLASS_WEIGHTS, Coverage, Head, ModelSpec, Trunk, with_coverage_norm
from .progress import Progress
from .add_coverage import column_identity
from .training_data import BatchStream, check_alike, open_parts, prefetch

log = logging.getLogger("helixer_tools")

JOIN_POINTS = ("last-lstm", "before-last-lstm")
JOIN_AUTO = "auto"  # --join-at auto: chosen by how far the pretrained model is from the species (choose_join)
# validation genic F1 of the pretrained model below which route 3 joins before the last BiLSTM layer (auto) or
# suggests it (bench_finetune_vs_upstream, medians of 3 seeds: on the fly, 0.11, joining before it made better
# gene models, CDS exon F1 0.683 against 0.635; on Micromonas, 0.32, worse, 0.343 against 0.427; on the
# example's window, 0.69, worse)
FAR_GENIC_F1 = 0.3
# fewer training batches than this between the last saved check and the stop is too little to recover from a
# first step that made things worse (Micromonas case of bench_finetune_vs_upstream: 2 batches per epoch)
MIN_PATIENCE_BATCHES = 32
DEFAULT_JOIN = "last-lstm"
RECOMMENDED_CLASS_WEIGHTS = (0.7, 1.6, 1.2, 1.2)
RECOMMENDED_TRANSITION_WEIGHTS = (1, 12, 3, 1, 12, 3)
PRETRAINED_OUTPUT = "pretrained output layer"  # key of the weights a new head starts from
HIDDEN_AUTO = "auto"  # --hidden-units auto: as wide as the output layer (see hidden_width)
# what a check must improve to be saved: validation genic F1 (upstream), the mean of genic and phase F1, the
# mean of genic and coding phase F1 (the phase the gene models use; see metrics), or the validation loss
CHECKPOINT_METRICS = {"genic": lambda s: s["genic_f1"], "genic+phase": lambda s: (s["genic_f1"] + s["phase_f1"]) / 2,
                      "genic+coding-phase": lambda s: (s["genic_f1"] + s["coding_phase_f1"]) / 2,
                      "loss": lambda s: -s["val_loss"]}


@dataclass
class TrainOptions:
    """Optimisation settings; defaults are upstream HybridModel.py's but for the phase class weights and the
    checkpoint metric (see the module docstring)."""

    epochs: int = 10000
    batch_size: int = 8
    val_batch_size: int = 32
    learning_rate: float = 3e-4
    optimizer: str = "adamw"
    weight_decay: float = 3.5e-5  # upstream (tensorflow_addons) semantics: decay per step, not scaled by lr
    clip_norm: float = 3.0
    patience: int = 3
    check_every: int | None = None  # batches; None: at epoch ends only
    class_weights: tuple | None = None
    transition_weights: tuple | None = None
    phase_class_weights: tuple = PHASE_CLASS_WEIGHTS
    checkpoint_metric: str = "genic+coding-phase"
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        if self.class_weights is not None and len(self.class_weights) != 4:
            raise UserError(f"class weights need 4 values (intergenic, UTR, CDS, intron), got {len(self.class_weights)}")
        if self.transition_weights is not None and len(self.transition_weights) != 6:
            raise UserError("transition weights need 6 values (transcript start, start codon, donor, transcript end, "
                            f"stop codon, acceptor), got {len(self.transition_weights)}")
        if len(self.phase_class_weights) != 4:
            raise UserError("phase class weights need 4 values (no phase, phase 0, 1, 2), got "
                            f"{len(self.phase_class_weights)}")
        for name in ("class_weights", "transition_weights", "phase_class_weights"):
            values = getattr(self, name)
            if values is not None and any(not math.isfinite(v) or v < 0 for v in values):
                raise UserError(f"{name.replace('_', ' ')} must be finite and not negative: {list(values)}")
        for name in ("class_weights", "phase_class_weights"):
            if getattr(self, name) is not None and not any(getattr(self, name)):
                raise UserError(f"{name.replace('_', ' ')} are all zero: nothing would be learned")
        if self.checkpoint_metric not in CHECKPOINT_METRICS:
            raise UserError(f"checkpoint metric {self.checkpoint_metric!r} is not one of {', '.join(CHECKPOINT_METRICS)}")
        if self.optimizer not in ("adamw", "adam"):
            raise UserError(f"optimizer {self.optimizer!r} is not adamw or adam")
        for name in ("epochs", "batch_size", "val_batch_size", "patience"):
            if getattr(self, name) < 1:
                raise UserError(f"{name.replace('_', ' ')} must be at least 1")
        if self.learning_rate <= 0:
            raise UserError(f"learning rate must be positive, not {self.learning_rate}")


# ------------------------------------------------------------------------------------------ routes

def _pretrained(path: str) -> tuple[ModelSpec, dict]:
    spec, weights = M.read(path)
    if spec.head is not None:
        raise UserError(f"{path}: is a fine-tuned head model ({spec.describe()}); the pretrained model must be a "
                        "whole HybridModel (use the 'resume' route to go on training this one)")
    return spec, weights


def _provenance(path: str) -> dict:
    return {"pretrained": os.path.basename(path), "pretrained_md5": M.file_md5(path)}


def scratch_spec(trunk: Trunk) -> tuple[ModelSpec, None]:
    return ModelSpec(trunk=trunk, route="scratch"), None


def whole_spec(pretrained: str) -> tuple[ModelSpec, dict]:
    spec, weights = _pretrained(pretrained)
    return ModelSpec(trunk=spec.trunk, route="whole", provenance=_provenance(pretrained)), weights


def _join(trunk: Trunk, join_at: str, path: str) -> int:
    if join_at not in JOIN_POINTS:
        raise UserError(f"join point {join_at!r} is not one of {', '.join(JOIN_POINTS)}")
    if join_at == "last-lstm":
        return trunk.lstm_layers
    if trunk.lstm_layers < 1:
        raise UserError(f"{path}: has no BiLSTM layer to join before")
    return trunk.lstm_layers - 1


def _trunk_weights(weights: dict, trunk: Trunk, join: int) -> dict:
    """The pretrained layers a head model keeps; its new layers start afresh."""
    return {name: weights[name] for name in M.trunk_layer_names(trunk, join) if name in weights}


def _head_weights(weights: dict, trunk: Trunk, head: Head, fresh: bool) -> tuple[dict, str]:
    """The trunk's layers, and the pretrained output layer to start the new layers from (see
    :func:`warm_head`) unless ``fresh`` or the new layers join before the last BiLSTM layer."""
    kept = _trunk_weights(weights, trunk, head.join_lstm_layers)
    if fresh or head.join_lstm_layers != trunk.lstm_layers or "dense" not in weights:
        return kept, "random"
    return {**kept, PRETRAINED_OUTPUT: weights["dense"]}, "pretrained output layer"


def hidden_width(hidden_units: int | str, trunk: Trunk) -> int:
    """``auto``: as wide as the output layer (pool * 8 units), so the new layers start exactly as the
    pretrained output layer (its rank is at most that) and the linear head keeps its full rank."""
    return trunk.pool_size * 8 if hidden_units == HIDDEN_AUTO else int(hidden_units)


def head_spec(pretrained: str, hidden_units: int | str = 0, fresh: bool = False) -> tuple[ModelSpec, dict]:
    spec, weights = _pretrained(pretrained)
    head = Head(join_lstm_layers=spec.trunk.lstm_layers, hidden_units=hidden_width(hidden_units, spec.trunk))
    weights, init = _head_weights(weights, spec.trunk, head, fresh)
    return (ModelSpec(trunk=spec.trunk, head=head, route="head",
                      provenance={**_provenance(pretrained), "new_layers_from": init}), weights)


def choose_join(pretrained: str, validation: Sequence[str], batch_size: int = 32, threads: int = 1
                ) -> tuple[str, float]:
    """``--join-at auto``: where coverage joins, from the pretrained model's genic F1 on the validation data.

    Far from the species the model knows (genic F1 under FAR_GENIC_F1) the features of its last BiLSTM layer
    serve the new species less than the layer's input does: join before it (as upstream); nearer, keep it."""
    spec, weights = _pretrained(pretrained)
    if spec.trunk.lstm_layers < 1:
        return "last-lstm", math.nan
    _configure_tensorflow(threads, 0)
    net = M.build(spec)
    M.set_weights(net, weights, pretrained)
    stream = BatchStream(open_parts(validation, "validation", None), batch_size, spec.trunk.pool_size)
    try:
        f1 = validate(net, stream)["genic_f1"]
    finally:
        stream.close()
    join = "before-last-lstm" if f1 < FAR_GENIC_F1 else "last-lstm"
    log.info("--join-at auto: the pretrained model's validation genic F1 is %.3f (%s %.2f): coverage joins %s",
             f1, "<" if f1 < FAR_GENIC_F1 else ">=", FAR_GENIC_F1,
             "before its last BiLSTM layer (far from the species)" if f1 < FAR_GENIC_F1 else "after its last BiLSTM layer")
    return join, f1


def coverage_spec(pretrained: str, hidden_units: int | str = 0, norm: str = "log", join_at: str = DEFAULT_JOIN,
                  prefix: str = "rnaseq", fresh: bool = False, validation: Sequence[str] | None = None,
                  threads: int = 1) -> tuple[ModelSpec, dict]:
    """Route 3. ``join_at`` ``auto`` chooses the join point on ``validation`` (:func:`choose_join`)."""
    chosen = {}
    if join_at == JOIN_AUTO:
        if not validation:
            raise UserError("--join-at auto needs the validation data")
        join_at, f1 = choose_join(pretrained, validation, threads=threads)
        chosen = {"join_at": f"auto: {join_at} (the pretrained model's validation genic F1 {f1:.4f}, "
                             f"threshold {FAR_GENIC_F1})"}
    spec, weights = _pretrained(pretrained)
    head = Head(join_lstm_layers=_join(spec.trunk, join_at, pretrained),
                hidden_units=hidden_width(hidden_units, spec.trunk),
                coverage=Coverage(prefix=prefix, channels=1, norm=norm))  # channels set from the data
    weights, init = _head_weights(weights, spec.trunk, head, fresh)
    return (ModelSpec(trunk=spec.trunk, head=head, route="coverage",
                      provenance={**_provenance(pretrained), **chosen, "new_layers_from": init}), weights)


def warm_head(net, weights: dict) -> dict:
    """New layers that start as the pretrained output layer ``W, b`` (features -> pool * 8 logits), so that
    fine-tuning starts where the pretrained model is instead of at random: what it knew of UTRs and phase
    is kept while the rest is learned, rather than relearned from nothing (the randomly initialised head
    of upstream's --fine-tune had lost most of both after the epochs the pretrained model had).

    Without a hidden layer the new final layer is ``W`` (zero rows for the coverage features): the
    pretrained model exactly. With ``h`` hidden (linear) units, hidden and final layer start as the best
    rank-``h`` factorisation of ``W`` (truncated SVD; exact when ``h`` >= rank ``W``, which ``auto``,
    ``pool * 8`` units, always is), coverage rows zero; hidden units beyond the rank keep their random
    weights into a zero row, so they start silent. A narrower hidden layer cannot hold ``W``: training
    then starts from an approximation of the pretrained model, and a warning says how far it is."""
    W, b = (np.asarray(a, dtype=np.float32) for a in weights.pop(PRETRAINED_OUTPUT))
    layers = {layer.name: layer for layer in M.weighted_layers(net)}
    d = W.shape[0]
    if "hidden" not in layers:
        final = np.zeros((layers["dense"].weights[0].shape[0], W.shape[1]), np.float32)
        final[:d] = W
        return {**weights, "dense": [final, b]}
    hidden = np.asarray(layers["hidden"].get_weights()[0], np.float32)  # (features, h), randomly initialised
    u, sv, vt = np.linalg.svd(W, full_matrices=False)
    k = min(hidden.shape[1], len(sv))
    rank = int((sv > sv[0] * 1e-6).sum()) if sv.size and sv[0] > 0 else 0
    if k < rank:
        lost = float(np.sqrt((sv[k:] ** 2).sum() / (sv ** 2).sum()))
        log.warning("a hidden layer of %d units cannot hold the pretrained output layer (rank %d): training starts "
                    "from its best rank-%d approximation (%.0f %% off), not from the pretrained model, and may end "
                    "worse than it; --hidden-units %d or more (or auto) starts exactly at the pretrained model",
                    k, rank, k, 100 * lost, rank)
    first = hidden.copy()
    first[:, :k] = 0.0
    first[:d, :k] = u[:, :k] * np.sqrt(sv[:k])
    final = np.zeros((hidden.shape[1], W.shape[1]), np.float32)
    final[:k] = np.sqrt(sv[:k])[:, None] * vt[:k]
    return {**weights, "hidden": [first, np.zeros(hidden.shape[1], np.float32)], "dense": [final, b]}


def resume_spec(checkpoint: str, head_only: bool = False, coverage_norm: str | None = None) -> tuple[ModelSpec, dict]:
    """Go on training a checkpoint. ``head_only`` trains only the final layer of a whole model (upstream
    ``--fine-tune-resume`` of a route-2 model, whose file looks like a whole model)."""
    spec, weights = M.read(checkpoint)
    provenance = {**spec.provenance, "resumed_from": os.path.basename(checkpoint),
                  "resumed_md5": M.file_md5(checkpoint)}
    if head_only:
        if spec.head is not None:
            raise UserError(f"{checkpoint}: already trains only its head; --head-only is for whole models")
        return ModelSpec(trunk=spec.trunk, head=Head(join_lstm_layers=spec.trunk.lstm_layers), route="head",
                         provenance=provenance), weights
    spec = with_coverage_norm(spec, coverage_norm, checkpoint)
    route = spec.route
    if route == "upstream":
        route = "coverage" if spec.coverage else "whole"
    return dataclasses.replace(spec, route=route, provenance=provenance), weights


# ------------------------------------------------------------------------------------------ the loop

def _optimizer(keras, opts: TrainOptions):
    if opts.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=opts.learning_rate, clipnorm=opts.clip_norm)
    # tensorflow_addons' AdamW (upstream) decays weights by wd per step; Keras 3's by wd * learning rate
    return keras.optimizers.AdamW(learning_rate=opts.learning_rate, clipnorm=opts.clip_norm,
                                  weight_decay=opts.weight_decay / opts.learning_rate)


def _configure_tensorflow(threads: int, seed: int):
    keras = M._keras()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:  # already initialised (several trainings in one process, e.g. tests)
        pass
    keras.utils.set_random_seed(seed)
    return keras


def use_xla() -> bool:
    """XLA-compile the model's steps on CPU (1.6-1.7x faster training, deterministic); on a GPU the cuDNN
    LSTM kernels Keras picks without XLA are the fast path."""
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


def _cross_entropy(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return -(truth * np.log(np.clip(predicted, 1e-7, 1.0))).sum(axis=-1)


def weighted_cross_entropy(keras, class_weights: Sequence[float]):
    """Categorical cross-entropy with a weight per true class (as Keras' own: predictions renormalised and
    clipped to [1e-7, 1 - 1e-7]); the loss of the phase output."""
    ops = keras.ops
    w = np.asarray(class_weights, np.float32)

    def loss(truth, predicted):
        p = ops.clip(predicted / ops.sum(predicted, axis=-1, keepdims=True), 1e-7, 1.0 - 1e-7)
        return -ops.sum(truth * w * ops.log(p), axis=-1)

    return loss


def validate(net, stream: BatchStream, phase_class_weights: Sequence[float] = PHASE_CLASS_WEIGHTS
             ) -> dict[str, float]:
    """Loss (as in training) and F1 scores on every usable validation row."""
    phase_w = np.asarray(phase_class_weights, np.float32)
    scores = Scores()
    loss_sum, n = 0.0, 0
    for batch in prefetch(stream.epoch()):
        genic, phase = net.predict_on_batch(batch.inputs if len(batch.inputs) > 1 else batch.inputs[0])
        k = batch.n  # the rows after it only fill the batch
        genic, phase = np.asarray(genic)[:k], np.asarray(phase)[:k]
        y, phases, weights = batch.y[:k], batch.phases[:k], batch.weights[:k]
        mask = np.broadcast_to(batch.step_mask[:k, :, None], y.shape[:3])
        scores.add(y, phases, genic, phase, mask)
        ce = 0.8 * _cross_entropy(y, genic) + 0.2 * _cross_entropy(phases * phase_w, phase)
        loss_sum += float((ce * weights[..., None]).sum())
        n += ce.size
    return {"val_loss": loss_sum / max(n, 1), **scores.summary()}


class _Table:
    """The per-check metrics table, rewritten atomically after every check."""

    def __init__(self, path: str | None):
        self.path = path
        self.rows: list[dict] = []

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if self.path is None:
            return
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.rows[0]), delimiter="\t", lineterminator="\n")
            writer.writeheader()
            for r in self.rows:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def train(spec: ModelSpec, weights: dict | None, training: Sequence[str], validation: Sequence[str], output: str,
          opts: TrainOptions, metrics_path: str | None = None, plot_path: str | None = None,
          argv: Sequence[str] | None = None, progress: bool = True) -> dict:
    """Train ``spec`` (initialised from ``weights`` where given) and write the best checkpoint to ``output``.

    Returns a summary: best validation scores, checks run, batches, bases per second.
    """
    for path in (output, metrics_path, plot_path):
        if path is not None:
            check_folder(path)
    prefix = spec.coverage.prefix if spec.coverage else None
    train_parts = open_parts(training, "training", prefix)
    val_parts = open_parts(validation, "validation", prefix)
    check_alike(train_parts, val_parts)
    on_pseudolabels = [p.path for p in val_parts if p.pseudolabels]
    trains_on_pseudolabels = any(p.pseudolabels for p in train_parts)
    if on_pseudolabels:
        log.warning("validating on pseudolabels (%s: the pretrained model's own gene models, helixer-select): every "
                    "check scores agreement with the starting model, not correctness; give reference gene models "
                    "of a few sequences (a small curated set) as --validation where any exist",
                    ", ".join(on_pseudolabels))
    if spec.coverage is not None:
        columns = train_parts[0].columns
        if "resumed_from" in spec.provenance:  # a trained coverage model: its columns are fixed
            if len(columns) != spec.coverage.channels:
                raise UserError(f"{training[0]}: has {len(columns)} coverage column(s), the model was trained on "
                                f"{spec.coverage.channels}")
            for i, (old, new) in enumerate(zip(spec.coverage.columns, columns), 1):
                if old.get("size") is not None and new.size is not None and column_identity(old) != column_identity(new):
                    log.warning("coverage column %d: the model was trained on %s, %s has %s", i, old["name"],
                                training[0], new.name)
        spec = dataclasses.replace(spec, head=dataclasses.replace(spec.head, coverage=dataclasses.replace(
            spec.coverage, channels=len(columns), columns=tuple(dataclasses.asdict(c) for c in columns))))

    keras = _configure_tensorflow(opts.threads, opts.seed)
    net = M.build(spec)
    if weights is not None:
        source = spec.provenance.get("resumed_from") or spec.provenance.get("pretrained") or "model"
        if PRETRAINED_OUTPUT in weights:
            weights = warm_head(net, weights)
        M.set_weights(net, weights, source, new={"dense", "hidden"} if spec.head else set())
    net.compile(optimizer=_optimizer(keras, opts),
                loss=["categorical_crossentropy", weighted_cross_entropy(keras, opts.phase_class_weights)],
                loss_weights=[0.8, 0.2], jit_compile=use_xla())
    trainable = sum(int(np.prod(w.shape)) for w in net.trainable_weights)
    total = sum(int(np.prod(w.shape)) for w in net.weights)
    log.info("model: %s; route %s; %d of %d parameters trained", spec.describe(), spec.route, trainable, total)

    provenance = {**spec.provenance, "training_options": dataclasses.asdict(opts),
                  "validation_on_pseudolabels": bool(on_pseudolabels),
                  "training_files": [os.path.basename(p) for p in training],
                  "validation_files": [os.path.basename(p) for p in validation]}
    spec = dataclasses.replace(spec, provenance=provenance)
    pool = spec.trunk.pool_size
    train_stream = BatchStream(train_parts, opts.batch_size, pool, spec.coverage, opts.class_weights,
                               opts.transition_weights, shuffle=True, seed=opts.seed)
    val_stream = BatchStream(val_parts, opts.val_batch_size, pool, spec.coverage, opts.class_weights,
                             opts.transition_weights)
    log.info("training on %d subsequences (%d batches per epoch), validating on %d", train_stream.n_rows,
             len(train_stream), val_stream.n_rows)
    patience_batches = opts.patience * (opts.check_every or len(train_stream))
    if patience_batches < MIN_PATIENCE_BATCHES and opts.epochs * len(train_stream) > patience_batches:
        log.warning("with %d batch(es) per check, patience %d stops training after only %d batch(es) without a better "
                    "check; on this little data give --patience %d or more (and enough --epochs)",
                    opts.check_every or len(train_stream), opts.patience, patience_batches,
                    -(-MIN_PATIENCE_BATCHES // (opts.check_every or len(train_stream))))

    table = _Table(metrics_path)
    metric = CHECKPOINT_METRICS[opts.checkpoint_metric]
    best, best_scores, since_best, checks, seen, rows_seen = -math.inf, {"genic_f1": -1.0}, 0, 0, 0, 0
    start = time.monotonic()
    train_time = 0.0
    stop = False
    try:
        if weights is not None:  # fine-tuning: the starting model is the score to beat, and the fallback
            scores = validate(net, val_stream, opts.phase_class_weights)
            best, best_scores = metric(scores), scores
            M.save(net, spec, output, list(argv) if argv is not None else None)
            table.add({"check": 0, "epoch": 0, "batch": 0, "batches_seen": 0, "train_loss": float("nan"), **scores,
                       "saved": 1, "elapsed_s": round(time.monotonic() - start, 1)})
            log.info("check 0 (the starting model): val loss %.4f, genic F1 %.4f, phase F1 %.4f, coding phase F1 %.4f",
                     scores["val_loss"], scores["genic_f1"], scores["phase_f1"], scores["coding_phase_f1"])
            if (spec.coverage is not None and spec.head.join_lstm_layers == spec.trunk.lstm_layers >= 1
                    and scores["genic_f1"] < FAR_GENIC_F1):
                log.info("the pretrained model is far from this species (validation genic F1 %.2f < %.2f): its last "
                         "BiLSTM layer's features may not serve it; on such a case --join-at before-last-lstm (or "
                         "auto) made better gene models (docs/benchmarks.md)", scores["genic_f1"], FAR_GENIC_F1)
        for epoch in range(opts.epochs):
            losses: list[float] = []
            epoch_time, epoch_rows = train_time, rows_seen
            with Progress(len(train_stream), f"epoch {epoch + 1}", unit="batch", enabled=progress) as bar:
                batches = prefetch(train_stream.epoch(epoch))
                t0 = time.monotonic()  # training time: reading batches and training on them, not validating
                for i, batch in enumerate(batches, 1):
                    result = net.train_on_batch(batch.inputs if len(batch.inputs) > 1 else batch.inputs[0],
                                                [batch.y, batch.phases], sample_weight=[batch.weights[..., None]] * 2)
                    loss = float(result[0] if isinstance(result, (list, tuple)) else result)
                    if not math.isfinite(loss):
                        raise UserError(f"training diverged (loss {loss}) in epoch {epoch + 1}, batch {i}; "
                                        "try a lower --learning-rate")
                    losses.append(loss)
                    train_time += time.monotonic() - t0
                    seen += 1
                    rows_seen += len(batch.y)
                    bar.update(1)
                    end_of_epoch = i == len(train_stream)
                    if end_of_epoch or (opts.check_every and seen % opts.check_every == 0):
                        checks += 1
                        scores = validate(net, val_stream, opts.phase_class_weights)
                        improved = metric(scores) > best
                        if improved:
                            best, best_scores, since_best = metric(scores), scores, 0
                            M.save(net, spec, output, list(argv) if argv is not None else None)
                        else:
                            since_best += 1
                        table.add({"check": checks, "epoch": epoch + 1, "batch": i, "batches_seen": seen,
                                   "train_loss": float(np.mean(losses)), **scores, "saved": int(improved),
                                   "elapsed_s": round(time.monotonic() - start, 1)})
                        log.info("check %d (epoch %d, batch %d): train loss %.4f, val loss %.4f, genic F1 %.4f, "
                                 "phase F1 %.4f, coding phase F1 %.4f%s", checks, epoch + 1, i, np.mean(losses),
                                 scores["val_loss"], scores["genic_f1"], scores["phase_f1"], scores["coding_phase_f1"],
                                 " (best, saved)" if improved else "")
                        losses = []
                        if since_best >= opts.patience:
                            log.info("no improvement in %d checks: stopping", opts.patience)
                            stop = True
                            break
                    t0 = time.monotonic()
            seconds = train_time - epoch_time
            log.info("epoch %d: trained on %d subsequences in %.1f s, %.0f bases/s (validation not included)",
                     epoch + 1, rows_seen - epoch_rows, seconds,
                     (rows_seen - epoch_rows) * train_stream.length / max(seconds, 1e-9))
            if stop:
                break
    finally:
        train_stream.close()
        val_stream.close()
    if weights is not None and not any(r["saved"] for r in table.rows[1:]):
        why = ""
        if trains_on_pseudolabels and not on_pseudolabels:
            why = ("; the pseudolabels taught nothing the validation gene models reward, as where the pretrained model "
                   "is far from the species its own gene models are mostly wrong (docs/benchmarks.md)")
        log.warning("no check beat the starting model (validation %s %.4f): %s is the starting model%s",
                    opts.checkpoint_metric, best, output, why)
    if plot_path is not None:
        from .plots import training_curves

        training_curves(table.rows, plot_path)
    bases = rows_seen * train_stream.length
    return {"best_genic_f1": best_scores["genic_f1"], "best_score": best, "checks": checks, "batches": seen,
            "train_bases_per_s": bases / train_time if train_time else 0.0, "rows": table.rows}
