"""Plots people would rather look at than read: training curves, base-wise and gene-level evaluations.

Each plot is written to a path (atomically) or to an open binary file (the HTML report embeds them)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .atomic import atomic_path
from .errors import UserError


def require_matplotlib(what: str) -> None:
    """One line instead of a traceback where plotting is asked for without matplotlib (a plain install)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(f"{what} needs matplotlib, which is not installed: pip install 'helixer-tools[evaluate]' "
                        f"(or leave out {what})") from None


def _pyplot():
    require_matplotlib("plotting")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    if hasattr(path, "write"):
        fig.savefig(path, dpi=120, format="png")
        return
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")  # whatever the name (Galaxy: dataset_*.dat)


def training_curves(rows: Sequence[dict], path: str | Path) -> None:
    """Loss and F1 per validation check (x: training batches seen); the saved checkpoints are marked."""
    plt = _pyplot()
    fig, (ax_loss, ax_f1) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = [r["batches_seen"] for r in rows]
    ax_loss.plot(x, [r["train_loss"] for r in rows], "o-", label="training (mean since last check)")
    ax_loss.plot(x, [r["val_loss"] for r in rows], "s-", label="validation")
    ax_loss.set_xlabel("batches seen")
    ax_loss.set_ylabel("weighted cross-entropy")
    ax_loss.set_title("loss")
    ax_loss.legend(fontsize=8)
    for key, style, label in (("genic_f1", "o-", "genic F1"), ("sub_genic_f1", "--", "sub-genic F1 (CDS, intron)"),
                              ("phase_f1", "s-", "phase F1"), ("coding_phase_f1", "d-", "coding phase F1"),
                              ("f1_UTR", ":", "UTR F1"), ("f1_CDS", ":", "CDS F1"),
                              ("f1_intron", ":", "intron F1")):
        ax_f1.plot(x, [r[key] for r in rows], style, label=label)
    saved = [r for r in rows if r.get("saved")]
    if saved:
        ax_f1.plot([r["batches_seen"] for r in saved], [r["genic_f1"] for r in saved], "k*", markersize=11,
                   label="checkpoint saved")
    ax_f1.set_ylim(0, 1)
    ax_f1.set_xlabel("batches seen")
    ax_f1.set_ylabel("validation F1")
    ax_f1.set_title("validation F1 (base-wise)")
    ax_f1.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def evaluation_plot(results, path: str | Path) -> None:
    """F1 scores of each predictions file side by side, and each one's genic confusion matrix (row-normalised)."""
    plt = _pyplot()
    import numpy as np

    keys = [("genic_f1", "genic"), ("sub_genic_f1", "sub-genic"), ("phase_f1", "phase"),
            ("coding_phase_f1", "coding phase"), ("f1_intergenic", "intergenic"),
            ("f1_UTR", "UTR"), ("f1_CDS", "CDS"), ("f1_intron", "intron")]
    n = len(results)
    fig, axes = plt.subplots(1, 1 + n, figsize=(6 + 3.6 * n, 4.2), gridspec_kw={"width_ratios": [2] + [1] * n})
    ax = axes[0]
    width = 0.8 / n
    x = np.arange(len(keys))
    for i, e in enumerate(results):
        s = e.summary()
        bars = ax.bar(x + (i - (n - 1) / 2) * width, [s[k] for k, _ in keys], width, label=e.name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(x, [label for _, label in keys], rotation=30)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (base-wise)")
    ax.set_title("F1 per class and summary")
    ax.legend(fontsize=8)
    for ax, e in zip(axes[1:], results):
        m = e.scores.genic.matrix.astype(float)
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(m, vmin=0, vmax=1, cmap="Blues")
        classes = ["IG", "UTR", "CDS", "intron"]
        ax.set_xticks(range(4), classes)
        ax.set_yticks(range(4), classes)
        for r in range(4):
            for c in range(4):
                ax.text(c, r, f"{m[r, c]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if m[r, c] > 0.6 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("reference")
        ax.set_title(f"{e.name}\n(rows sum to 1)", fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def gene_level_plot(results, path) -> None:
    """Sensitivity, precision and F1 of each level for each predictions file side by side."""
    plt = _pyplot()
    import numpy as np

    from .gene_eval import LEVELS

    n = len(results)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), sharey=True)
    width = 0.8 / n
    x = np.arange(len(LEVELS))
    for ax, (what, title) in zip(axes, (("sensitivity", "sensitivity (reference found)"),
                                        ("precision", "precision (predictions correct)"), ("f1", "F1"))):
        for i, e in enumerate(results):
            values = [getattr(e.levels[level], what) for level, _ in LEVELS]
            bars = ax.bar(x + (i - (n - 1) / 2) * width, values, width, label=e.name)
            ax.bar_label(bars, fmt="%.2f", fontsize=6, rotation=90, padding=2)
        ax.set_xticks(x, [label for _, label in LEVELS], rotation=40, ha="right")
        ax.set_ylim(0, 1.12)
        ax.set_title(title)
    axes[0].set_ylabel("gene level")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
