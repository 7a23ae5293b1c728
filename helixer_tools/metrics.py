"""Base-wise confusion matrices and F1 as upstream Helixer computes them (prediction/Metrics.py).

Classes are 0 intergenic, 1 UTR, 2 CDS, 3 intron (genic) and 0 no phase, 1-3 phase 0-2 (phase).
A confusion matrix counts argmax(truth) (rows) against argmax(prediction) (columns) on unmasked bases.
Per class: TP = cm[c, c], FP = column sum - TP, FN = row sum - TP; F1 = 2TP / (2TP + FP + FN), 0 when
undefined. genic F1 is the micro-F1 (summed TP, FP, FN) over UTR, CDS and intron, so intergenic TPs do
not count; sub-genic F1 over CDS and intron; phase F1 micro over phase 0, 1, 2.

*Coding phase F1* (ours) scores the phase as the gene models use it: HelixerPost (and helixer-post) read
the phase output only as the ratio of phases 0, 1 and 2 inside what the genic output calls CDS; the
probability of "no phase" is never used. So a base's coding phase call is the likeliest of phases 0-2
where the genic output's likeliest class is CDS, and no phase elsewhere. Upstream's phase F1 takes the
argmax over all four phase classes: a phase output that is (rightly) unsure which of three phases a base
has calls "no phase" wherever coding is less than about 3/4 likely, so it falls as a model learns to be
unsure, while the phases the gene models are built from get better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GENIC_CLASSES = ("intergenic", "UTR", "CDS", "intron")
PHASE_CLASSES = ("no_phase", "phase_0", "phase_1", "phase_2")


def _f1(tp: float, fp: float, fn: float) -> float:
    denominator = 2 * tp + fp + fn
    return float(2 * tp / denominator) if denominator else 0.0


@dataclass
class Confusion:
    """A 4 x 4 confusion matrix that is added to batch by batch."""

    classes: tuple = GENIC_CLASSES
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((4, 4), dtype=np.int64))

    def add(self, truth: np.ndarray, predicted: np.ndarray, mask: np.ndarray | None = None) -> None:
        """``truth`` one-hot and ``predicted`` scores, both (..., 4); ``mask`` (...) selects bases."""
        t = np.argmax(truth.reshape(-1, 4), axis=1)
        p = np.argmax(predicted.reshape(-1, 4), axis=1)
        if mask is not None:
            keep = mask.reshape(-1).astype(bool)
            t, p = t[keep], p[keep]
        self.matrix += np.bincount(t * 4 + p, minlength=16).reshape(4, 4)

    def add_classes(self, truth: np.ndarray, predicted: np.ndarray, mask: np.ndarray | None = None) -> None:
        """As :meth:`add`, with predicted class indices (...) instead of scores."""
        t = np.argmax(truth.reshape(-1, 4), axis=1)
        p = predicted.reshape(-1)
        if mask is not None:
            keep = mask.reshape(-1).astype(bool)
            t, p = t[keep], p[keep]
        self.matrix += np.bincount(t * 4 + p, minlength=16).reshape(4, 4)

    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tp = np.diag(self.matrix).astype(np.float64)
        return tp, self.matrix.sum(axis=0) - tp, self.matrix.sum(axis=1) - tp

    def f1(self, classes: list[int] | None = None) -> float:
        """Per-class F1 of one class, or the micro-F1 over several."""
        tp, fp, fn = self.counts()
        idx = list(range(4)) if classes is None else classes
        return _f1(tp[idx].sum(), fp[idx].sum(), fn[idx].sum())

    def per_class(self) -> dict[str, float]:
        return {name: self.f1([i]) for i, name in enumerate(self.classes)}


def coding_phase_calls(genic_pred: np.ndarray, phase_pred: np.ndarray) -> np.ndarray:
    """Phase class per base as the gene models read it: 1 + the likeliest of phases 0-2 where the genic
    output's likeliest class is CDS (2), else 0 (see the module docstring)."""
    coding = np.argmax(genic_pred, axis=-1) == 2
    return np.where(coding, 1 + np.argmax(phase_pred[..., 1:], axis=-1), 0)


@dataclass
class Scores:
    """Genic and phase confusion matrices over the same bases, with the summary F1 upstream reports."""

    genic: Confusion = field(default_factory=Confusion)
    phase: Confusion = field(default_factory=lambda: Confusion(PHASE_CLASSES))
    coding_phase: Confusion = field(default_factory=lambda: Confusion(PHASE_CLASSES))

    def add(self, y: np.ndarray, phases: np.ndarray, genic_pred: np.ndarray, phase_pred: np.ndarray,
            mask: np.ndarray) -> None:
        self.genic.add(y, genic_pred, mask)
        self.phase.add(phases, phase_pred, mask)
        self.coding_phase.add_classes(phases, coding_phase_calls(genic_pred, phase_pred), mask)

    def summary(self) -> dict[str, float]:
        out = {"genic_f1": self.genic.f1([1, 2, 3]), "sub_genic_f1": self.genic.f1([2, 3]),
               "phase_f1": self.phase.f1([1, 2, 3]), "coding_phase_f1": self.coding_phase.f1([1, 2, 3])}
        out.update({f"f1_{name}": value for name, value in self.genic.per_class().items()})
        out.update({f"f1_{name}": value for name, value in self.phase.per_class().items() if name != "no_phase"})
        return out
