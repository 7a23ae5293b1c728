"""A Helixer model's description (:class:`ModelSpec`): architecture, new layers, coverage inputs, route.

JSON-serialisable and free of TensorFlow: checkpoints store it (helixer_tools.checkpoints), the model is
built from it (helixer_tools.model), and tools that only read or write files need nothing more.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from .errors import UserError

FORMAT_VERSION = 1
ROUTES = ("scratch", "whole", "head", "coverage", "upstream")
COVERAGE_NORMS = ("log", "linear", "none")
# loss weights of no phase, phase 0, 1, 2 (helixer_tools.train explains them); upstream's loss is 1, 1, 1, 1
PHASE_CLASS_WEIGHTS = (1.0, 3.0, 3.0, 3.0)
# helixer-train's learning rate by route (docs/benchmarks.md, medians of 3 seeds on two species the model had
# not seen, beside upstream's training): a whole network at upstream's 3e-4; a head on the frozen trunk is
# nearly a linear model, which at 1e-3 was still improving when training stopped and at 1e-2 reached a better
# head; on pseudolabels, 1e-2 made gene models worse (1e-3 keeps the start). Check 0 protects the start.
ROUTE_LEARNING_RATES = {"scratch": 3e-4, "whole": 3e-4, "head": 1e-2, "coverage": 1e-2}
PSEUDOLABEL_LEARNING_RATE = 1e-3  # a head trained on a model's own gene models (helixer-select's output)
UPSTREAM_LEARNING_RATE = 3e-4


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
