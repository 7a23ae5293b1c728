"""Prediction core (issue 6 groundwork): upstream's numbers, with and without overlap; padding layouts."""

from __future__ import annotations

import json

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


# ------------------------------------------------------------------------------------------ helixer-predict

@pytest.fixture(scope="module")
def coverage_files(tmp_path_factory):
    """The Micromonas genome h5 with coverage from the RNA-seq BAM, from half of it, and from both."""
    import pysam

    from helixer_tools.add_coverage import add_coverage

    d = tmp_path_factory.mktemp("pred")
    bam = DATA / "micromonas/micromonas.rnaseq.bam"
    half = d / "half.bam"
    with pysam.AlignmentFile(str(bam)) as src, pysam.AlignmentFile(str(half), "wb", template=src) as dst:
        for i, read in enumerate(src):
            if i % 2:
                dst.write(read)
    pysam.index(str(half))
    out = {"full": d / "full.h5", "half": d / "half.h5", "both": d / "both.h5"}
    add_coverage(GENOME, [bam], out["full"], "second", progress=False)
    add_coverage(GENOME, [half], out["half"], "second", progress=False)
    add_coverage(GENOME, [bam, half], out["both"], "second", progress=False)
    return out


def test_cli_predictions_are_upstreams_with_padding_at_the_end(tmp_path):
    from helixer_tools.cli import predict as cli

    out = tmp_path / "p.h5"
    assert cli.main(["--model", str(MODELS / "tiny.h5"), "--h5", str(GENOME), "-o", str(out), "--batch-size", "8",
                     "-q"]) == 0
    with h5py.File(out) as p, h5py.File(MODELS / "predictions_excerpt.h5") as ex, h5py.File(GENOME) as g:
        rows = list(ex.attrs["rows"])
        length = g["data/X"].shape[1]
        assert p["predictions"].shape == g["data/X"].shape and p["predictions"].dtype == np.float16
        assert p["predictions"].chunks == (1, length, 4)
        assert p.attrs["padding"] == "end" and p.attrs["helixer_tools_tool"] == "helixer-predict"
        assert p.attrs["model_md5sum"] == M.file_md5(MODELS / "tiny.h5")
        for j, r in enumerate(rows):
            s, e = g["data/start_ends"][r]
            n = abs(int(e) - int(s))
            ours = p["predictions"][r].astype(np.float32)
            up = ex["tiny"]["predictions"][j].astype(np.float32)
            if s > e and n < length:  # upstream: padding first; ours: real bases first, as in data/X
                assert r == 12
                up = np.concatenate([up[length - n:], up[:length - n]])
            assert np.abs(ours[:n] - up[:n]).max() < 1e-3
    assert not list(tmp_path.glob(".*tmp*"))


def test_cli_overlap_equals_library(tmp_path):
    from helixer_tools.cli import predict as cli

    out = tmp_path / "o.h5"
    assert cli.main(["--model", str(MODELS / "tiny.h5"), "--h5", str(GENOME), "-o", str(out), "--overlap",
                     "--batch-size", "5", "-q"]) == 0
    net, spec = M.load(MODELS / "tiny.h5")
    with h5py.File(GENOME) as g, h5py.File(out) as p:
        genic, _, real = run_predictions(net, spec, g, overlap=True, batch_size=32)
        runs = list(P.row_runs(g["data/seqids"][:], g["data/start_ends"][:]))
        ours = np.concatenate([P.to_model_layout(p["predictions"][r.first:r.first + len(r.lengths)], r.lengths,
                                                 r.minus) for r in runs]).astype(np.float32)
    assert np.abs(ours - genic)[real].max() < 1e-3


def test_coverage_models_read_their_own_coverage(coverage_files, tmp_path, caplog):
    from helixer_tools import train as T
    from helixer_tools.add_coverage import read_columns
    from helixer_tools.cli import predict as cli
    from helixer_tools.errors import UserError
    import dataclasses

    spec, weights = T.coverage_spec(str(MODELS / "tiny.h5"), hidden_units=4)
    with h5py.File(coverage_files["full"]) as f:
        columns, _, _ = read_columns(f, "rnaseq")
    spec = dataclasses.replace(spec, head=dataclasses.replace(spec.head, coverage=dataclasses.replace(
        spec.coverage, columns=tuple(dataclasses.asdict(c) for c in columns))))
    net = M.build(spec)
    M.set_weights(net, weights, "tiny.h5", new={"dense", "hidden"})
    M.save(net, spec, tmp_path / "cov_model.h5")
    model = str(tmp_path / "cov_model.h5")
    from helixer_tools.predict import predict_h5

    # another library of the same strandedness (as another genome's BAM is): used, and said
    caplog.set_level("INFO", logger="helixer_tools")  # (before a CLI run resets logging)
    predict_h5(model, str(coverage_files["half"]), str(tmp_path / "other.h5"), progress=False)
    assert "coverage column 1 comes from half.bam, the model was trained with micromonas.rnaseq.bam" in caplog.text
    assert cli.main(["--model", model, "--h5", str(coverage_files["full"]), "-o", str(tmp_path / "ok.h5"), "-q"]) == 0
    with h5py.File(tmp_path / "ok.h5") as p:
        assert p["predictions"].shape[0] == 28
    from helixer_tools.predict import predict_h5

    # a library the model was trained with in another column, and another strandedness: refused
    with h5py.File(coverage_files["both"]) as f:
        both, _, _ = read_columns(f, "rnaseq")
    for trained, message in (([both[1], both[0]], "coverage column 1 comes from micromonas.rnaseq.bam, which the "
                              r"model was trained with as column 2; give the BAMs in the order of training"),
                             ([dataclasses.replace(both[0], strandedness="first"), both[1]],
                              "coverage column 1 .micromonas.rnaseq.bam. is second, the model was trained with "
                              "first coverage there")):
        two = dataclasses.replace(spec, head=dataclasses.replace(spec.head, coverage=dataclasses.replace(
            spec.coverage, channels=2, columns=tuple(dataclasses.asdict(c) for c in trained))))
        net2 = M.build(two)
        M.set_weights(net2, weights, "tiny.h5", new={"dense", "hidden"})
        M.save(net2, two, tmp_path / "two.h5")
        with pytest.raises(UserError, match=message):
            predict_h5(str(tmp_path / "two.h5"), str(coverage_files["both"]), str(tmp_path / "x.h5"), progress=False)
    with pytest.raises(UserError, match="has 2 coverage column.*trained on 1 .micromonas.rnaseq.bam"):
        predict_h5(model, str(coverage_files["both"]), str(tmp_path / "x.h5"), progress=False)
    with pytest.raises(UserError, match="has no evaluation/rnaseq_coverage"):
        predict_h5(model, str(GENOME), str(tmp_path / "x.h5"), progress=False)
    with pytest.raises(UserError, match="trained with coverage normalisation 'log', not 'none'"):
        predict_h5(model, str(coverage_files["full"]), str(tmp_path / "x.h5"), coverage_norm="none", progress=False)
    assert not (tmp_path / "x.h5").exists()
    # an upstream coverage model (no BAM identities recorded) runs on coverage of the right width
    assert cli.main(["--model", str(MODELS / "tiny.ft_cov.h5"), "--h5", str(coverage_files["full"]), "-o",
                     str(tmp_path / "up.h5"), "--coverage-norm", "log", "-q"]) == 0


def test_overlap_default_core_fits_any_subsequence_length(tmp_path):
    """3/4 of 2025 bp (what helixer-fasta2h5 advises for a draft assembly) leaves 507 bp, which cannot be
    trimmed evenly from both window ends: the default core is then 1 bp shorter, not an error."""
    from helixer_tools.fasta2h5 import fasta_to_h5

    h5 = tmp_path / "g.h5"
    fasta_to_h5(DATA / "micromonas/micromonas.fa", h5, "Mpusilla", subsequence_length=2025, progress=False)
    out = tmp_path / "p.h5"
    P.predict_h5(str(MODELS / "tiny.h5"), str(h5), str(out), overlap=True, progress=False)
    with h5py.File(out) as p:
        assert json.loads(p.attrs["overlap"]) == {"offset": 1012, "core_length": 1517}
        assert p["predictions"].shape[1] == 2025 and np.isfinite(p["predictions"][:].astype(np.float32)).all()
