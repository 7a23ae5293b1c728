"""Base-wise evaluation of predictions against labels, as upstream Helixer scores its models.

Rows of the predictions are joined to the labelled h5's rows on (seqid, start, end). Counted bases are
those of 9 bp steps whose bases all have a sample weight (upstream's timestep mask: GeenuFF error
regions and padding excluded); argmax(label) against argmax(prediction) fills a genic and a phase
confusion matrix, from which helixer_tools.metrics derives F1 per class, genic F1 (micro over UTR, CDS,
intron), sub-genic F1 (CDS, intron) and phase F1 (micro over phase 0-2). Several prediction files
(e.g. before and after fine-tuning) are scored on the same bases and reported side by side.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .atomic import write_text
from .errors import UserError
from .h5io import check_same_genome, digests_of, open_h5, read_all, species_of
from .metrics import GENIC_CLASSES, PHASE_CLASSES, Scores
from .predict import to_file_layout

log = logging.getLogger("helixer_tools")
POOL = 9


@dataclass
class Evaluation:
    name: str
    path: str
    scores: Scores

    def summary(self) -> dict[str, float]:
        return self.scores.summary()


def _row_keys(f: h5py.File, path: str) -> list[tuple]:
    if "data/seqids" not in f or "data/start_ends" not in f:
        raise UserError(f"{path}: does not say which rows it holds (no data/seqids, data/start_ends); give the h5 "
                        "it was predicted on with --predicted-h5")
    return [(s, int(a), int(b)) for s, (a, b) in zip(read_all(f["data/seqids"]), read_all(f["data/start_ends"]))]


def _check_genome(path: str, genome: tuple[dict, list], labels: str, lab_genome: tuple[dict, list]) -> None:
    """Predictions and labels of one genome: same bases where both files record them, else same species."""
    (digests, species), (lab_digests, lab_species) = genome, lab_genome
    if digests and lab_digests:
        check_same_genome(path, digests, labels, lab_digests)
    elif species and lab_species and set(species) != set(lab_species):
        raise UserError(f"{path}: predicts species {', '.join(species)}, but {labels} holds "
                        f"{', '.join(lab_species)}; evaluate predictions on the labelled genome")


def _padding_first(pred: h5py.File, layout: str) -> bool:
    """Whether padded minus-strand rows of a predictions file have their padding first (upstream >= 0.3.6)."""
    if layout != "auto":
        return layout == "start"
    return pred.attrs.get("padding", "start") != "end"


def evaluate(labels: str, predictions: Sequence[str], names: Sequence[str] | None = None,
             predicted_h5: Sequence[str | None] | None = None, layout: str = "auto") -> list[Evaluation]:
    """Score each predictions file on the bases of ``labels`` it covers; all on the same rows."""
    names = list(names) if names else [Path(p).name for p in predictions]
    if len(names) != len(predictions):
        raise UserError(f"{len(names)} names for {len(predictions)} prediction files")
    predicted_h5 = list(predicted_h5 or [None] * len(predictions))
    if len(predicted_h5) == 1 and len(predictions) > 1:
        predicted_h5 *= len(predictions)
    if len(predicted_h5) != len(predictions):
        raise UserError(f"{len(predicted_h5)} --predicted-h5 files for {len(predictions)} prediction files")
    with open_h5(labels) as lab:
        for name in ("data/y", "data/phases", "data/sample_weights"):
            if name not in lab:
                raise UserError(f"{labels}: has no {name}; evaluation needs a labelled h5 (helixer-geenuff2h5)")
        label_rows = {key: i for i, key in enumerate(_row_keys(lab, labels))}
        lab_genome = digests_of(lab), species_of(lab)
        length = lab["data/y"].shape[1]
        results = []
        for name, path, source in zip(names, predictions, predicted_h5):
            with open_h5(path) as pred:
                for ds in ("predictions", "predictions_phase"):
                    if ds not in pred:
                        raise UserError(f"{path}: has no {ds}; is it a predictions file (helixer-predict)?")
                if pred["predictions"].shape[1] != length:
                    raise UserError(f"{path}: subsequence length {pred['predictions'].shape[1]} differs from "
                                    f"{length} in {labels}")
                if source is not None:
                    with open_h5(source) as src:
                        keys, genome = _row_keys(src, source), (digests_of(src), species_of(src))
                else:
                    keys, genome = _row_keys(pred, path), (digests_of(pred), species_of(pred))
                _check_genome(path, genome, labels, lab_genome)
                if len(keys) != pred["predictions"].shape[0]:
                    raise UserError(f"{path}: has {pred['predictions'].shape[0]} rows, but {source or path} "
                                    f"describes {len(keys)}")
                pairs = [(i, label_rows[k]) for i, k in enumerate(keys) if k in label_rows]
                if not pairs:
                    raise UserError(f"{path}: no row matches a row of {labels} (seqid, start, end): other genome "
                                    "or other subsequence length?")
                missing = len(label_rows) - len(pairs)
                if missing:
                    log.warning("%s: %d rows of %s have no prediction and are not counted", path, missing, labels)
                shift = _padding_first(pred, layout)
                results.append(Evaluation(name, path, _score(pred, lab, pairs, keys, length, shift)))
        bases = int(results[0].scores.genic.matrix.sum())
        for e in results[1:]:  # every file must be scored on the same bases to compare
            n = int(e.scores.genic.matrix.sum())
            if n != bases:
                raise UserError(f"{e.path}: covers other rows of {labels} than {results[0].path} ({n} vs "
                                f"{bases} bases); compare predictions of the same genome h5")
    return results


def _score(pred: h5py.File, lab: h5py.File, pairs: list[tuple[int, int]], keys: list[tuple], length: int,
           padding_first: bool) -> Scores:
    scores = Scores()
    for p_row, l_row in pairs:
        genic = pred["predictions"][p_row].astype(np.float32)
        phase = pred["predictions_phase"][p_row].astype(np.float32)
        _, a, b = keys[p_row]
        if padding_first and a > b:  # padded minus-strand rows back to padding last (full rows stay as they are)
            genic, phase = (to_file_layout(x[None], (a - b,), True)[0] for x in (genic, phase))
        sw = lab["data/sample_weights"][l_row]
        mask = np.repeat((sw.reshape(length // POOL, POOL) != 0).all(axis=1), POOL)
        scores.add(lab["data/y"][l_row], lab["data/phases"][l_row], genic, phase, mask)
    return scores


def report(results) -> tuple[list[str], list[list]]:
    """Metric rows with one column per predictions file, and differences to the first when several.

    ``results`` are base-wise (:class:`Evaluation`) or gene-level (``gene_eval.GeneEvaluation``) ones."""
    header = ["metric", *[e.name for e in results]]
    if len(results) > 1:
        header += [f"{e.name} - {results[0].name}" for e in results[1:]]
    summaries = [e.summary() for e in results]
    rows = []
    for metric in summaries[0]:
        values = [s[metric] for s in summaries]
        rows.append([metric, *values, *[v - values[0] for v in values[1:]]])
    return header, rows


def write_outputs(results: list[Evaluation] | None, tsv: str, json_path: str | None, plot: str | None,
                  genes=None, html: str | None = None, inputs: dict[str, str] | None = None) -> None:
    """The table (base-wise rows, then gene-level rows), JSON, base-wise plot and HTML report."""
    tables = [report(r) for r in (results, genes) if r]
    header = tables[0][0]
    rows = [row for _, part in tables for row in part]
    write_text(tsv, "\n".join(["\t".join(header)] + ["\t".join(
        [r[0], *(f"{v:.6f}" for v in r[1:])]) for r in rows]) + "\n")
    if json_path:
        data: dict[str, dict] = {}
        for e in results or ():
            data[e.name] = {"path": e.path, **e.summary(),
                            "genic_confusion": {"classes": list(GENIC_CLASSES),
                                                "matrix": e.scores.genic.matrix.tolist()},
                            "phase_confusion": {"classes": list(PHASE_CLASSES),
                                                "matrix": e.scores.phase.matrix.tolist()},
                            "coding_phase_confusion": {"classes": list(PHASE_CLASSES),
                                                       "matrix": e.scores.coding_phase.matrix.tolist()}}
        for g in genes or ():
            entry = data.setdefault(g.name, {})
            entry.update({"gff3": g.path, **g.summary(), "gene_level_counts": {
                level: vars(lv) for level, lv in g.levels.items()}})
        write_text(json_path, json.dumps(data, indent=1) + "\n")
    if plot and results:
        from .plots import evaluation_plot

        evaluation_plot(results, plot)
    if html:
        from .report import write_html

        write_html(html, results, genes, inputs)
