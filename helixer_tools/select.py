"""helixer-select: pseudolabels for routes 2 and 3, the subsequences whose gene models the model predicts
most confidently (the fine-tuning guide's filter-to-most-certain step, our own code).

Every row of the labels h5 (geenuff2h5 of helixer-post's gene models, or any labels) is matched to its row of
the raw predictions on (seqid, start, end); a row missing on either side is an error naming it. A row's
distance is the mean over its valid bases (sample weight > 0) of sum_c |label_c - prediction_c| (0: the
predictions are the gene models; at most 2), its intergenic fraction that of its valid bases.

Stratified so the selection is not all intergenic: rows are ranked by intergenic fraction (ties broken by
position, so the result does not depend on row order) and cut into ``strata`` groups of equal size, so
a genome where half the rows are wholly intergenic fills some strata with them instead of collapsing
the bins (upstream's quantile bins do); each stratum keeps its share of ``keep_fraction`` (largest
remainders to make the total exact), its rows of lowest distance (ties: by position). Rows without a
valid base are never kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .atomic import atomic_path
from .errors import UserError
from .h5io import PSEUDOLABELS_ATTR, copy_rows, names, open_h5, predictions_padding, read_all, species_of

log = logging.getLogger("helixer_tools")

BLOCK = 16  # rows read at a time


@dataclass
class Rows:
    seqids: list
    start_ends: np.ndarray
    distance: np.ndarray
    intergenic: np.ndarray
    valid: np.ndarray
    stratum: np.ndarray
    kept: np.ndarray


def _keys(seqids, start_ends) -> list[tuple[str, int, int]]:
    return [(s, int(a), int(b)) for s, (a, b) in zip(seqids, start_ends.tolist())]


def score_rows(labels: str, predictions: str, genome: str | None = None, padding: str | None = None,
               progress=None) -> Rows:
    """Distance and intergenic fraction of every labels row against its predictions row."""
    with open_h5(labels) as lf, open_h5(predictions) as pf:
        for name in ("data/y", "data/sample_weights", "data/seqids", "data/start_ends"):
            if name not in lf:
                raise UserError(f"{labels}: no {name}; give labels from helixer-geenuff2h5")
        if "predictions" not in pf:
            raise UserError(f"{predictions}: no 'predictions' dataset; give the output of helixer-predict")
        L = lf["data/y"].shape[1]
        if pf["predictions"].shape[1] != L:
            raise UserError(f"{predictions}: subsequences of {pf['predictions'].shape[1]} bp, but {labels} has {L}")
        if "data/seqids" in pf and "data/start_ends" in pf:
            p_seqids, p_se = names(read_all(pf["data/seqids"])), read_all(pf["data/start_ends"])
            p_species = species_of(pf)
        elif genome:
            with open_h5(genome) as gf:
                p_seqids, p_se, p_species = names(read_all(gf["data/seqids"])), read_all(gf["data/start_ends"]), species_of(gf)
            if len(p_seqids) != pf["predictions"].shape[0]:
                raise UserError(f"{predictions} has {pf['predictions'].shape[0]} rows but {genome} has {len(p_seqids)}: "
                                "not the h5 they were predicted on")
        else:
            raise UserError(f"{predictions} does not name its rows (upstream's predictions): give --h5, the genome h5 "
                            "they were predicted on")
        l_species = species_of(lf)
        if p_species and l_species and p_species != l_species:
            raise UserError(f"{labels} is species {', '.join(l_species)} but {predictions} is {', '.join(p_species)}")
        padding = predictions_padding(predictions, pf, p_se, L, padding)
        lengths = np.abs(p_se[:, 1] - p_se[:, 0])
        padded_minus = (p_se[:, 0] > p_se[:, 1]) & (lengths < L)
        l_seqids, l_se = names(read_all(lf["data/seqids"])), read_all(lf["data/start_ends"])
        l_keys = _keys(l_seqids, l_se)
        p_index = {k: i for i, k in enumerate(_keys(p_seqids, p_se))}
        l_index = set(l_keys)
        for k in l_keys:
            if k not in p_index:
                raise UserError(f"{predictions}: no row for {k[0]} {min(k[1:])}-{max(k[1:])} "
                                f"({'+' if k[1] < k[2] else '-'} strand) of {labels}")
        for k in p_index:
            if k not in l_index:
                raise UserError(f"{labels}: no row for {k[0]} {min(k[1:])}-{max(k[1:])} "
                                f"({'+' if k[1] < k[2] else '-'} strand) of {predictions}")
        n = len(l_keys)
        dist, ig, valid = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, np.int64)
        Y, W, P = lf["data/y"], lf["data/sample_weights"], pf["predictions"]
        A = lf["data/is_annotated"] if "data/is_annotated" in lf else None
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            y = Y[lo:hi].astype(np.float32)
            w = W[lo:hi] > 0
            if A is not None:  # rows of sequences without gene models: training skips them, so does select
                w &= A[lo:hi].astype(bool)[:, None]
            prow = np.array([p_index[k] for k in l_keys[lo:hi]])
            order = np.argsort(prow)
            p = np.empty((hi - lo, L, 4), np.float32)
            p[order] = P[prow[order].tolist()].astype(np.float32)  # h5py reads increasing indices
            for j in range(hi - lo):
                r = prow[j]
                if padding == "start" and padded_minus[r]:
                    m = int(lengths[r])
                    p[j] = np.concatenate([p[j, L - m:], p[j, :L - m]])
                nv = int(w[j].sum())
                valid[lo + j] = nv
                if nv:
                    dist[lo + j] = float(np.abs(y[j][w[j]] - p[j][w[j]]).sum(dtype=np.float64) / nv)
                    ig[lo + j] = float(y[j][w[j], 0].sum(dtype=np.float64) / nv)
            if progress:
                progress(hi - lo)
    return Rows(l_seqids, l_se, dist, ig, valid, np.full(n, -1), np.zeros(n, bool))


def choose(rows: Rows, keep_fraction: float, strata: int = 6) -> Rows:
    """Mark the kept rows: equal-sized strata by intergenic fraction, the lowest distances in each."""
    eligible = np.flatnonzero(rows.valid > 0)
    n = len(eligible)
    n_keep = int(n * keep_fraction)
    if n_keep == 0:
        raise UserError(f"--keep-fraction {keep_fraction} keeps none of the {n} subsequences with labelled bases; "
                        f"raise it to at least {1 / max(n, 1):.3g}")  # none at all: select() says so first
    if keep_fraction >= 1:
        log.info("--keep-fraction 1: every one of the %d subsequences with labelled bases is kept (no filter)", n)
    # a position key independent of row order: seqid, strand, start
    pos = {i: (rows.seqids[i], int(rows.start_ends[i, 0] > rows.start_ends[i, 1]), int(rows.start_ends[i].min()))
           for i in eligible}
    by_position = sorted(eligible, key=lambda i: pos[i])
    rank = {i: r for r, i in enumerate(by_position)}
    order = sorted(eligible, key=lambda i: (rows.intergenic[i], rank[i]))
    groups = [g for g in np.array_split(np.array(order, dtype=np.int64), min(strata, n)) if len(g)]
    share = np.array([len(g) * keep_fraction for g in groups])
    quota = np.floor(share).astype(int)
    for j in np.argsort(-(share - quota), kind="stable")[: n_keep - quota.sum()]:
        quota[j] += 1
    for j, (g, q) in enumerate(zip(groups, quota)):
        rows.stratum[g] = j
        best = sorted(g.tolist(), key=lambda i: (rows.distance[i], rank[i]))[:q]
        rows.kept[best] = True
    return rows


def write_table(path, rows: Rows) -> None:
    lines = ["seqid\tstart\tend\tstrand\tvalid_bases\tdistance\tintergenic_fraction\tstratum\tkept"]
    for i, s in enumerate(rows.seqids):
        a, b = (int(x) for x in rows.start_ends[i])
        lines.append(f"{s}\t{min(a, b)}\t{max(a, b)}\t{'+' if a < b else '-'}\t{rows.valid[i]}\t"
                     f"{rows.distance[i]:.6f}\t{rows.intergenic[i]:.4f}\t{rows.stratum[i]}\t{int(rows.kept[i])}")
    Path(path).write_text("\n".join(lines) + "\n")


def plot(path, rows: Rows, keep_fraction: float) -> None:
    from .plots import _pyplot

    plt = _pyplot()

    ok = rows.valid > 0
    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for mask, colour, label in ((ok & ~rows.kept, "#b0b0b0", "not kept"), (ok & rows.kept, "#1f77b4", "kept")):
        ax.scatter(rows.intergenic[mask], rows.distance[mask], s=10, c=colour, alpha=0.8,
                   label=f"{label} ({int(mask.sum())})", edgecolors="none")
    for j in range(int(rows.stratum.max()) + 1 if ok.any() else 0):
        members = rows.intergenic[rows.stratum == j]
        if j and len(members):
            ax.axvline(members.min(), color="#dddddd", lw=0.8, zorder=0)
    ax.set_xlabel("intergenic fraction of the subsequence (gene models); grey lines: strata")
    ax.set_ylabel("distance: mean |labels - predictions| per base")
    ax.set_title(f"helixer-select: {int(rows.kept.sum())} of {int(ok.sum())} subsequences kept "
                 f"(keep fraction {keep_fraction})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def select(labels: str, predictions: str, output: str, keep_fraction: float = 0.5, strata: int = 6,
           genome: str | None = None, padding: str | None = None, table: str | None = None,
           plot_path: str | None = None, argv: Sequence[str] = (), progress=None) -> Rows:
    """helixer-select: write the kept rows of ``labels`` (every per-row dataset, attributes kept) to
    ``output``, the table of every row and the plot; all outputs appear together or not at all."""
    rows = score_rows(labels, predictions, genome, padding, progress)
    if not (rows.valid > 0).any():
        raise UserError(f"{labels}: no subsequence has an annotated, labelled base (data/is_annotated true and sample "
                        "weight > 0): nothing to select and nothing to train on; were the gene models (helixer-post's "
                        "GFF3) imported for this genome?")
    rows = choose(rows, keep_fraction, strata)
    kept = np.flatnonzero(rows.kept)
    inputs = {"labels": labels, "predictions": predictions, **({"h5": genome} if genome else {})}
    with contextlib.ExitStack() as stack:
        tmp_h5 = stack.enter_context(atomic_path(output))
        tmp_table = stack.enter_context(atomic_path(table)) if table else None
        tmp_plot = stack.enter_context(atomic_path(plot_path)) if plot_path else None
        # the mark is carried on by helixer-split (copy_rows keeps attributes)
        mark = json.dumps({"predictions": os.path.basename(predictions), "keep_fraction": keep_fraction})
        copy_rows(labels, tmp_h5, kept, "helixer-select", argv, inputs, attrs={PSEUDOLABELS_ATTR: mark})
        if tmp_table:
            write_table(tmp_table, rows)
        if tmp_plot:
            plot(tmp_plot, rows, keep_fraction)
    return rows
