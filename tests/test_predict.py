"""Prediction core (issue 6 groundwork): upstream's numbers, with and without overlap; padding layouts."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from conftest import DATA, shared_path
from helixer_tools import model as M
from helixer_tools import predict as P
from helixer_tools.training_data import normalise_coverage

GENOME = DATA / "micromonas/upstream_fasta.h5"
MODELS = DATA / "micromonas/upstream_models"


def run_predictions(net, spec, data: h5py.File, overlap: bool, batch_size: int):
    """Predictions of every row, in the model (upstream) layout, and the real bases of each row."""
    length = data["data/X"].shape[1]
    out_g, out_p, real = [], [], []
    for run in P.row_runs(data["data/seqids"][:], data["data/start_ends"][:]):
        rows = slice(run.first, run.first + len(run.lengths))
        inputs = [data["data/X"][rows]]
        if spec.coverage:
            inputs.append(np.concatenate([data["evaluation/rnaseq_coverage"][rows],
                                          data["evaluation/rnaseq_spliced_coverage"][rows]], axis=-1))
        inputs = [P.to_model_layout(a, run.lengths, run.minus) for a in inputs]
        if spec.coverage:
            inputs[1] = normalise_coverage(inputs[1], "log")
        g, p = P.predict_run(net, inputs, batch_size, (length // 2, int(length * 3 / 4)) if overlap else None)
        out_g.append(g)
        out_p.append(p)
        for n in run.lengths:
            mask = np.zeros(length, bool)
            mask[slice(length - n, length) if run.minus and n < length else slice(0, n)] = True
            real.append(mask)
    return np.concatenate(out_g), np.concatenate(out_p), np.stack(real)


def test_row_runs_and_layouts():
    with h5py.File(GENOME) as f:
        runs = list(P.row_runs(f["data/seqids"][:], f["data/start_ends"][:]))
        x = f["data/X"][:]
    assert [(r.first, len(r.lengths), r.minus) for r in runs] == [
        (0, 1, False), (1, 1, True), (2, 1, False), (3, 1, True), (4, 12, False), (16, 12, True)]
    minus = runs[-1]
    assert minus.lengths[0] == 245704 - 235224  # the padded minus row comes first in its run
    rows = x[16:28]
    moved = P.to_model_layout(rows, minus.lengths, True)
    n = minus.lengths[0]
    np.testing.assert_array_equal(moved[0, -n:], rows[0, :n])  # real bases at the end, adjacent to row 1
    assert not moved[0, :-n].any()
    np.testing.assert_array_equal(P.to_file_layout(moved, minus.lengths, True), rows)
    np.testing.assert_array_equal(P.to_model_layout(x[4:16], runs[4].lengths, False), x[4:16])


def test_window_arithmetic():
    assert P.chunks_per_batch(21384, 10692, 32) == 16  # upstream's n for batch 32, offset L/2
    assert P.chunks_per_batch(21384, 10692, 8) == 4
    assert P.window_starts(40, 20, 10) == [0, 10, 20]
    assert P.window_starts(45, 20, 10) == [0, 10, 20, 25]  # a last window aligned to the end
    preds = np.stack([np.full((20, 1), v, float) for v in (1.0, 3.0, 5.0)])
    avg = P.overlap_average(preds, [0, 10, 20], 40, 20, 14)  # trim 3 bp at the inner ends
    np.testing.assert_allclose(avg[:, 0], [1] * 13 + [2] * 4 + [3] * 6 + [4] * 4 + [5] * 13)


def test_predictions_equal_upstream_excerpt():
    net, spec = M.load(MODELS / "tiny.h5")
    with h5py.File(GENOME) as g, h5py.File(MODELS / "predictions_excerpt.h5") as ex:
        genic, _, real = run_predictions(net, spec, g, overlap=False, batch_size=8)
        rows = list(ex.attrs["rows"])
        up = ex["tiny"]["predictions"][:].astype(np.float32)
    assert np.abs(genic[rows] - up)[real[rows]].max() < 1e-3


def test_overlap_does_not_depend_on_batch_size():
    net, spec = M.load(MODELS / "tiny.h5")
    with h5py.File(GENOME) as g:
        a, _, real = run_predictions(net, spec, g, overlap=True, batch_size=32)  # one piece per run
        b, _, _ = run_predictions(net, spec, g, overlap=True, batch_size=5)  # pieces of 3 rows, extended
        c, _, _ = run_predictions(net, spec, g, overlap=False, batch_size=8)
    assert np.abs(a - b)[real].max() < 1e-5
    assert np.abs(a - c)[real].max() > 1e-2  # overlapping windows do change the predictions


@pytest.mark.upstream
@pytest.mark.parametrize("model_file,data_file,predictions_file,overlap", [
    ("tiny.h5", "fasta.h5", "tiny.predictions_overlap.h5", True),
    ("released_shape.h5", "fasta.h5", "released_shape.predictions_overlap.h5", True),
    ("released_size.h5", "fasta.h5", "released_size.predictions_overlap.h5", True),
    ("released_shape.ft_cov.h5", "coverage.h5", "released_shape.ft_cov.predictions.h5", False),
])
def test_equal_to_upstream_fixtures(model_file, data_file, predictions_file, overlap):
    d = shared_path("upstream_fixtures", "micromonas")
    if not (d / model_file).exists():
        pytest.skip(f"{model_file} not among the fixtures")
    net, spec = M.load(d / model_file)
    with h5py.File(d / data_file) as data, h5py.File(d / predictions_file) as pred:
        genic, phase, real = run_predictions(net, spec, data, overlap, batch_size=8)
        assert np.abs(genic - pred["predictions"][:].astype(np.float32))[real].max() < 1e-3
        assert np.abs(phase - pred["predictions_phase"][:].astype(np.float32))[real].max() < 1e-3
