"""helixer-split: training and validation sets from one h5, by whole sequences (as upstream's
n90_train_val_split, our own code) or, for genomes of too few sequences, by contiguous blocks.

By sequence (default): sequences are ranked by their number of rows (both strands; ties by name) and cut at
N90 (the first sequences holding 90 % of the rows, and the rest); each group gives ceil(val_fraction x n)
of its sequences, drawn with ``seed``, to validation (a group of one sequence stays in training). Both
strands of a sequence always go to the same side. When that cannot give a validation set near the asked
fraction (one chromosome, or a chromosome-level assembly of two), it is an error that names the
alternative: by region, contiguous blocks of ``block_size`` bp (a multiple of the subsequence length),
both strands together, drawn with ``seed``, so no locus is on both sides. Never a silent copy of training
into validation (upstream leaves validation empty for one sequence).
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .atomic import atomic_path
from .errors import UserError
from .h5io import copy_rows, h5file, names, open_h5, read_all

log = logging.getLogger("helixer_tools")

DEFAULT_BLOCK_BP = 1_000_000  # rounded down to a multiple of the subsequence length


@dataclass
class Unit:
    """A sequence, or a block of one, with its rows (both strands); start and end span its rows."""

    seqid: str
    start: int
    end: int
    rows: np.ndarray
    side: str = "training"
    bases: int = 0  # in its rows, both strands


def read_rows(path: str) -> tuple[list[str], np.ndarray, int]:
    """Sequence ids, start/end and subsequence length of the rows of a labelled h5 (what training reads)."""
    with open_h5(path) as f:
        for name in ("data/seqids", "data/start_ends"):
            if name not in f:
                raise UserError(f"{path}: no {name}; give an h5 of helixer-geenuff2h5/add-coverage/select")
        if "data/y" not in f:
            what = "predictions" if "predictions" in f else "a genome without labels"
            raise UserError(f"{path}: has no labels (data/y; it is {what}): helixer-split makes training and "
                            "validation data; give the labels of helixer-geenuff2h5 (or add-coverage, select)")
        seqids, se = names(read_all(f["data/seqids"])), read_all(f["data/start_ends"])
        width = f["data/y"].shape[1]
    if not seqids:
        raise UserError(f"{path}: no rows to split")
    return seqids, se, width


def by_sequence(seqids: list[str], start_ends: np.ndarray, val_fraction: float, seed: int) -> list[Unit]:
    rows: dict[str, list[int]] = {}
    for i, s in enumerate(seqids):
        rows.setdefault(s, []).append(i)
    units = [Unit(s, int(start_ends[r].min()), int(start_ends[r].max()), np.array(r)) for s, r in rows.items()]
    units.sort(key=lambda u: (-len(u.rows), u.seqid))
    total = sum(len(u.rows) for u in units)
    cum = np.cumsum([len(u.rows) for u in units])
    n90 = int(np.searchsorted(cum, int(0.9 * total)))  # first index where the cumulative count reaches 90 %
    rng = np.random.default_rng(seed)
    for group in (units[:n90 + 1], units[n90 + 1:]):
        if len(group) < 2:
            continue
        n_val = min(math.ceil(val_fraction * len(group)), len(group) - 1)
        for k in rng.permutation(len(group))[:n_val]:
            group[k].side = "validation"
    return units


def by_region(seqids: list[str], start_ends: np.ndarray, width: int, val_fraction: float, seed: int,
              block_size: int) -> list[Unit]:
    if block_size % width:
        raise UserError(f"--block-size {block_size} is not a multiple of the subsequence length {width}; "
                        f"try {max(width, block_size // width * width)}")
    blocks: dict[tuple[str, int], list[int]] = {}
    for i, (s, (a, b)) in enumerate(zip(seqids, start_ends.tolist())):
        blocks.setdefault((s, min(a, b) // block_size), []).append(i)
    units_list = sorted((Unit(s, int(start_ends[r].min()), int(start_ends[r].max()), np.array(r))
                         for (s, _), r in blocks.items()), key=lambda u: (u.seqid, u.start))
    n = len(units_list)
    if n < 2:
        raise UserError(f"the h5 holds a single block of {block_size} bp: nothing to split by region; "
                        "use a smaller --block-size")
    n_val = min(max(round(val_fraction * n), 1), n - 1)
    rng = np.random.default_rng(seed)
    for k in rng.permutation(n)[:n_val]:
        units_list[k].side = "validation"
    return units_list


def split(h5: str, training: str, validation: str, val_fraction: float = 0.2, seed: int = 42,
          by: str = "sequence", block_size: int | None = None, report: str | None = None,
          argv: Sequence[str] = ()) -> list[Unit]:
    """helixer-split: write the training and validation h5 files (and the report); all appear together."""
    seqids, se, width = read_rows(h5)
    if by == "sequence":
        units = by_sequence(seqids, se, val_fraction, seed)
        n_val = sum(len(u.rows) for u in units if u.side == "validation")
        share = n_val / len(seqids)
        if n_val == 0 or share > 2 * val_fraction:
            n_seq = len(units)
            raise UserError(
                f"{h5}: {n_seq} sequence{'s' if n_seq > 1 else ''} cannot be split by whole sequences into a "
                f"validation set near {val_fraction:g} of the subsequences (it would be {share:.2f}); "
                "use --by-region, which puts contiguous blocks (both strands) on either side")
    else:
        units = by_region(seqids, se, width, val_fraction, seed, block_size or max(width, DEFAULT_BLOCK_BP // width * width))
    lengths = np.abs(se[:, 1] - se[:, 0])
    for u in units:
        u.bases = int(lengths[u.rows].sum())
    sides = {side: np.sort(np.concatenate([u.rows for u in units if u.side == side])) for side in ("training", "validation")}
    genic = _genic_fractions(h5, units)
    with contextlib.ExitStack() as stack:
        tmp_train = stack.enter_context(atomic_path(training))
        tmp_val = stack.enter_context(atomic_path(validation))
        tmp_report = stack.enter_context(atomic_path(report)) if report else None
        copy_rows(h5, tmp_train, sides["training"], "helixer-split", argv)
        copy_rows(h5, tmp_val, sides["validation"], "helixer-split", argv)
        if tmp_report:
            write_report(tmp_report, units, genic)
    for side, (n_units, rows, bases, g) in summary(units, genic).items():
        log.info("%s: %d %s, %d subsequences (%.1f%%), %d bp (both strands)%s", side, n_units,
                 "sequences" if by == "sequence" else "blocks", rows, 100 * rows / len(seqids), bases,
                 "" if g is None else f", genic fraction {g:.3f}")
    return units


def _genic_fractions(path: str, units: list[Unit]):
    """Per unit (labelled bases, genic labelled bases), or None without labels."""
    with h5file(path, "r") as f:
        if "data/y" not in f:
            return None
        y, w = f["data/y"], f["data/sample_weights"] if "data/sample_weights" in f else None
        out = []
        for u in units:
            lab = gen = 0
            for r in u.rows.tolist():
                yr = y[r]
                valid = yr.sum(axis=1) > 0 if w is None else w[r] > 0
                lab += int(valid.sum())
                gen += int((valid & (yr[:, 0] == 0)).sum())
            out.append((lab, gen))
        return out


def _fraction(genic, idx) -> float | None:
    if genic is None:
        return None
    lab = sum(genic[i][0] for i in idx)
    return sum(genic[i][1] for i in idx) / lab if lab else float("nan")


def summary(units: list[Unit], genic) -> dict:
    """Per side: units, subsequences, bases, genic fraction of the labelled bases (None without labels)."""
    out = {}
    for side in ("training", "validation"):
        idx = [i for i, u in enumerate(units) if u.side == side]
        out[side] = (len(idx), sum(len(units[i].rows) for i in idx), sum(units[i].bases for i in idx),
                     _fraction(genic, idx))
    return out


def write_report(path, units: list[Unit], genic) -> None:
    """One line per sequence (or block) and side, then one per side over all of them; bases of both strands."""
    def fmt(g):
        return "" if g is None else f"{g:.4f}"

    lines = ["side\tseqid\tstart\tend\tsubsequences\tbases\tgenic_fraction"]
    for i, u in enumerate(units):
        lines.append(f"{u.side}\t{u.seqid}\t{u.start}\t{u.end}\t{len(u.rows)}\t{u.bases}\t"
                     f"{fmt(_fraction(genic, [i]))}")
    for side, (_, rows, bases, g) in summary(units, genic).items():
        lines.append(f"{side}\t(all)\t\t\t{rows}\t{bases}\t{fmt(g)}")
    Path(path).write_text("\n".join(lines) + "\n")
