"""helixer-train: every route trains, frozen layers stay frozen, seeds repeat, bad input is refused clearly."""

from __future__ import annotations

import csv
import gzip
import shutil

import h5py
import numpy as np
import pysam
import pytest

from conftest import DATA
from helixer_tools import model as M
from helixer_tools import train as T
from helixer_tools.add_coverage import add_coverage
from helixer_tools.cli import train as cli
from helixer_tools.errors import UserError
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.geenuff2h5 import geenuff_to_h5
from helixer_tools.metrics import Confusion, Scores, coding_phase_calls
from helixer_tools.spec import Trunk
from helixer_tools.training_data import BatchStream, open_parts, step_weights

MICRO = DATA / "micromonas"
PRETRAINED = MICRO / "upstream_models/tiny.h5"
TINY = Trunk(cnn_layers=1, filter_depth=8, kernel_size=9, lstm_layers=1, units=8)
FAST = dict(epochs=2, batch_size=4, val_batch_size=8, learning_rate=3e-3, class_weights=(0.7, 1.6, 1.2, 1.2),
            transition_weights=(1, 12, 3, 1, 12, 3))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Micromonas labelled h5 (L = 21384), with coverage from one and from two BAMs, and with L = 10692."""
    d = tmp_path_factory.mktemp("train")
    db = d / "micromonas.sqlite3"
    db.write_bytes(gzip.decompress((MICRO / "upstream_geenuff.sqlite3.gz").read_bytes()))
    out = {}
    for length in (21384, 10692):
        fasta_to_h5(MICRO / "micromonas.fa", d / f"genome{length}.h5", "Mpusilla", subsequence_length=length,
                    progress=False)
        geenuff_to_h5(db, d / f"labels{length}.h5", h5_in=d / f"genome{length}.h5", progress=False)
    out["labels"], out["labels_short"] = d / "labels21384.h5", d / "labels10692.h5"
    half = d / "half.bam"  # a second library: every other alignment of the first
    with pysam.AlignmentFile(str(MICRO / "micromonas.rnaseq.bam")) as src, \
            pysam.AlignmentFile(str(half), "wb", template=src) as dst:
        for i, read in enumerate(src):
            if i % 2 == 0:
                dst.write(read)
    pysam.index(str(half))
    out["cov"], out["cov2"] = d / "cov.h5", d / "cov2.h5"
    add_coverage(out["labels"], [MICRO / "micromonas.rnaseq.bam"], out["cov"], "second", progress=False)
    add_coverage(out["labels"], [MICRO / "micromonas.rnaseq.bam", half], out["cov2"], "second", progress=False)
    return out


def run(spec, weights, train, val, out, **kw):
    opts = T.TrainOptions(**{**FAST, **kw})
    return T.train(spec, weights, [str(train)], [str(val)], str(out), opts, metrics_path=str(out) + ".tsv",
                   plot_path=str(out) + ".png", progress=False)


def falls(summary):
    rows = [r for r in summary["rows"] if r["check"]]  # check 0 is the starting model, before any training
    return rows[-1]["train_loss"] < rows[0]["train_loss"] and rows[-1]["val_loss"] < rows[0]["val_loss"]


def test_scratch_trains_and_writes_outputs(data, tmp_path):
    out = tmp_path / "scratch.h5"
    summary = run(*T.scratch_spec(TINY), data["labels"], data["labels"], out)
    assert falls(summary)
    assert summary["checks"] == 2 and summary["batches"] == 14  # 28 rows, batch 4, 2 epochs
    assert summary["best_genic_f1"] > 0.1  # calling everything intergenic scores 0
    with open(str(out) + ".tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [r["check"] for r in rows] == ["1", "2"]
    assert {"train_loss", "val_loss", "genic_f1", "sub_genic_f1", "phase_f1", "f1_UTR", "f1_CDS", "f1_intron",
            "f1_phase_0"} <= set(rows[0])
    assert abs(float(rows[-1]["genic_f1"]) - summary["rows"][-1]["genic_f1"]) < 1e-5
    assert (tmp_path / "scratch.h5.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    spec, _ = M.read(out)
    assert spec.route == "scratch" and spec.trunk == TINY
    assert spec.provenance["training_options"]["learning_rate"] == 3e-3
    assert not list(tmp_path.glob(".*tmp*"))


def test_whole_route_trains_every_layer(data, tmp_path):
    spec, weights = T.whole_spec(str(PRETRAINED))
    summary = run(spec, weights, data["labels"], data["labels"], tmp_path / "whole.h5")
    assert falls(summary)
    _, tuned = M.read(tmp_path / "whole.h5")
    for layer in ("conv1d", "bidirectional", "dense"):
        assert not np.allclose(tuned[layer][0], weights[layer][0])


@pytest.mark.parametrize("hidden", [0, 8])
def test_head_route_keeps_the_trunk_frozen(data, tmp_path, hidden):
    spec, weights = T.head_spec(str(PRETRAINED), hidden)
    out = tmp_path / "head.h5"
    summary = run(spec, weights, data["labels"], data["labels"], out)
    assert falls(summary)
    tuned_spec, tuned = M.read(out)
    assert tuned_spec.route == "head" and tuned_spec.head.hidden_units == hidden
    _, pre = M.read(PRETRAINED)
    for layer in ("conv1d", "bidirectional"):
        for a, b in zip(tuned[layer], pre[layer]):
            np.testing.assert_array_equal(a, b)
    assert tuned["dense"][0].shape == ((hidden or 32), 72)
    assert ("hidden" in tuned) == bool(hidden)


@pytest.mark.parametrize("join", ["last-lstm", "before-last-lstm"])
def test_coverage_route(data, tmp_path, join, caplog, monkeypatch):
    caplog.set_level("INFO", logger="helixer_tools")
    spec, weights = T.coverage_spec(str(PRETRAINED), hidden_units=16, norm="log", join_at=join)
    out = tmp_path / "cov.h5"
    # a pretrained model far from the species (here: below any genic F1) hears of the other join point
    monkeypatch.setattr(T, "FAR_GENIC_F1", 1.01)
    summary = run(spec, weights, data["cov2"], data["cov2"], out)
    assert falls(summary)
    assert ("--join-at before-last-lstm (or auto) made better gene models" in caplog.text) == (join == "last-lstm")
    tuned_spec, tuned = M.read(out)
    cov = tuned_spec.coverage
    assert cov.channels == 2 and cov.norm == "log"
    assert [c["name"] for c in cov.columns] == ["micromonas.rnaseq.bam", "half.bam"]
    assert tuned_spec.head.join_lstm_layers == (1 if join == "last-lstm" else 0)
    width = (32 if join == "last-lstm" else 9 * 16) + 9 * 2 * 2
    assert tuned["hidden"][0].shape == (width, 16)
    _, pre = M.read(PRETRAINED)
    np.testing.assert_array_equal(tuned["conv1d"][0], pre["conv1d"][0])


def test_join_auto_chooses_by_the_pretrained_models_validation_f1(data, monkeypatch, caplog):
    """--join-at auto (the CLI's default): before the last BiLSTM layer when the pretrained model's genic F1 on
    the validation data is under FAR_GENIC_F1, after it otherwise; the choice and its reason are recorded."""
    caplog.set_level("INFO", logger="helixer_tools")
    _, f1 = T.choose_join(str(PRETRAINED), [str(data["cov"])])
    assert 0 < f1 < 1
    for threshold, join, layers in ((f1 + 0.01, "before-last-lstm", 0), (f1 - 0.01, "last-lstm", 1)):
        monkeypatch.setattr(T, "FAR_GENIC_F1", threshold)
        spec, weights = T.coverage_spec(str(PRETRAINED), join_at="auto", validation=[str(data["cov"])])
        assert spec.head.join_lstm_layers == layers
        assert spec.provenance["join_at"] == f"auto: {join} (the pretrained model's validation genic F1 {f1:.4f}, " \
                                             f"threshold {threshold})"
        assert (T.PRETRAINED_OUTPUT in weights) == (join == "last-lstm")  # before it: a new head, at random
    assert "--join-at auto: the pretrained model's validation genic F1 is" in caplog.text
    with pytest.raises(UserError, match="--join-at auto needs the validation data"):
        T.coverage_spec(str(PRETRAINED), join_at="auto")
    args = cli.build_parser().parse_args(["coverage", "--pretrained", "m.h5", "--data-dir", "d", "--output", "o.h5"])
    assert args.join_at == "auto"


def _outputs(spec, weights, inputs):
    net = M.build(spec)
    M.set_weights(net, weights, "test")
    return [np.asarray(o) for o in net.predict_on_batch(inputs)]


@pytest.mark.parametrize("route,hidden", [("head", 0), ("head", 32), ("head", 8), ("coverage", 0), ("coverage", 40)])
def test_new_layers_start_as_the_pretrained_model(route, hidden):
    """The new head starts where the pretrained model is: exactly without a hidden layer or with one as wide as
    the rank of the output layer (coverage rows zero, whatever the coverage), else its best factorisation."""
    pre_spec, pre = M.read(PRETRAINED)
    rng = np.random.default_rng(0)
    dna = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (2, 9 * 40))]
    expected = _outputs(pre_spec, pre, dna)
    if route == "head":
        spec, weights = T.head_spec(str(PRETRAINED), hidden)
        inputs = dna
    else:
        spec, weights = T.coverage_spec(str(PRETRAINED), hidden)
        inputs = [dna, rng.uniform(0, 3, (2, 9 * 40, 2)).astype(np.float32)]
    assert spec.provenance["new_layers_from"] == "pretrained output layer"
    net = M.build(spec)
    weights = T.warm_head(net, weights)
    got = _outputs(spec, weights, inputs)
    if hidden in (0, 32, 40):  # the output layer is 32 x 72: rank <= 32
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, atol=2e-5)
    fresh, w = T.head_spec(str(PRETRAINED), hidden, fresh=True)
    assert fresh.provenance["new_layers_from"] == "random" and T.PRETRAINED_OUTPUT not in w
    if hidden == 8:  # rank 8 of 32: most bases called as the pretrained model calls them, unlike a random head
        agree = lambda out: np.mean(np.argmax(out[0], -1) == np.argmax(expected[0], -1))  # noqa: E731
        net = M.build(fresh)
        assert agree(got) > 0.8 > agree(_outputs(fresh, M.get_weights(net), dna))
    spec, w = T.coverage_spec(str(PRETRAINED), hidden, join_at="before-last-lstm")
    assert spec.provenance["new_layers_from"] == "random" and T.PRETRAINED_OUTPUT not in w


@pytest.mark.parametrize("route,hidden", [("head", 0), ("head", "auto"), ("coverage", 0), ("coverage", "auto")])
def test_check_zero_is_the_pretrained_model(data, tmp_path, route, hidden, caplog):
    """Check 0 of routes 2 and 3 scores exactly what the pretrained model scores on the validation data, with
    and without a hidden layer (auto: as wide as the output layer), as docs/tools.md promises."""
    pre_spec, pre = M.read(PRETRAINED)
    net = M.build(pre_spec)
    M.set_weights(net, pre, "pretrained")
    stream = BatchStream(open_parts([str(data["labels"])], "validation", None), FAST["val_batch_size"], 9, None,
                         FAST["class_weights"], FAST["transition_weights"])
    expected = T.validate(net, stream)
    stream.close()
    make = T.head_spec if route == "head" else T.coverage_spec
    spec, weights = make(str(PRETRAINED), hidden)
    assert spec.head.hidden_units == (72 if hidden == "auto" else 0)
    h5 = data["labels"] if route == "head" else data["cov"]
    summary = run(spec, weights, h5, h5, tmp_path / "t.h5", learning_rate=1e-12, optimizer="adam", patience=1,
                  epochs=1)
    check0 = summary["rows"][0]
    for key, value in expected.items():
        assert check0[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert "cannot hold the pretrained output layer" not in caplog.text
    # a hidden layer narrower than the output layer's rank (32) cannot start there, and says so
    spec, weights = make(str(PRETRAINED), 8)
    T.warm_head(M.build(spec), weights)
    assert "a hidden layer of 8 units cannot hold the pretrained output layer (rank 32)" in caplog.text
    args = cli.build_parser().parse_args([route, "--pretrained", "m.h5", "--data-dir", "d", "--output", "o.h5",
                                          "--hidden-units", "auto"])
    assert args.hidden_units == "auto"


def test_validation_on_pseudolabels_is_said(data, tmp_path, caplog):
    """Validating on helixer-select's pseudolabels scores agreement with the starting model: say so, and record it."""
    pseudo = tmp_path / "pseudo.h5"
    shutil.copy(data["labels"], pseudo)
    with h5py.File(pseudo, "a") as f:
        f.attrs["helixer_tools_pseudolabels"] = '{"predictions": "p.h5", "keep_fraction": 0.5}'
    spec, weights = T.head_spec(str(PRETRAINED))
    run(spec, weights, data["labels"], pseudo, tmp_path / "t.h5", learning_rate=1e-12, epochs=1, patience=1)
    assert "validating on pseudolabels" in caplog.text and str(pseudo) in caplog.text
    assert M.read(tmp_path / "t.h5")[0].provenance["validation_on_pseudolabels"] is True
    caplog.clear()
    run(spec, weights, pseudo, data["labels"], tmp_path / "u.h5", learning_rate=1e-12, epochs=1, patience=1)
    assert "validating on pseudolabels" not in caplog.text
    assert "the pseudolabels taught nothing the validation gene models reward" in caplog.text


def test_check_zero_keeps_the_starting_model(data, tmp_path, caplog):
    """Fine-tuning that cannot improve (learning rate 1e-12) returns the starting model, and says so."""
    spec, weights = T.whole_spec(str(PRETRAINED))
    out = tmp_path / "whole.h5"
    summary = run(spec, weights, data["labels"], data["labels"], out, learning_rate=1e-12, optimizer="adam",
                  patience=1)
    rows = summary["rows"]
    assert [(r["check"], r["saved"]) for r in rows] == [(0, 1), (1, 0)]
    assert summary["best_score"] == pytest.approx((rows[0]["genic_f1"] + rows[0]["coding_phase_f1"]) / 2)
    _, tuned = M.read(out)
    _, pre = M.read(PRETRAINED)
    for layer in pre:
        for a, b in zip(tuned[layer], pre[layer]):
            np.testing.assert_array_equal(a, b)
    assert "no check beat the starting model" in caplog.text


def test_checkpoint_metric(data, tmp_path):
    spec, weights = T.head_spec(str(PRETRAINED))
    summary = run(spec, weights, data["labels"], data["labels"], tmp_path / "g.h5", checkpoint_metric="genic")
    saved = [r for r in summary["rows"] if r["saved"]][-1]
    assert summary["best_score"] == summary["best_genic_f1"] == saved["genic_f1"]
    # the validation loss: the first check of a model trained from scratch is saved, whatever its loss
    spec, _ = T.scratch_spec(TINY)
    summary = run(spec, None, data["labels"], data["labels"], tmp_path / "l.h5", checkpoint_metric="loss", epochs=1)
    assert (tmp_path / "l.h5").exists() and summary["best_score"] == -summary["rows"][0]["val_loss"]
    with pytest.raises(UserError, match="checkpoint metric 'phase' is not one of genic, genic\\+phase, genic\\+coding-phase, loss"):
        T.TrainOptions(checkpoint_metric="phase")


def test_resume_keeps_the_route(data, tmp_path):
    spec, weights = T.coverage_spec(str(PRETRAINED), hidden_units=0)
    first = tmp_path / "first.h5"
    run(spec, weights, data["cov"], data["cov"], first, epochs=1)
    spec2, weights2 = T.resume_spec(str(first))
    assert spec2.route == "coverage" and spec2.provenance["resumed_from"] == "first.h5"
    second = tmp_path / "second.h5"
    summary = run(spec2, weights2, data["cov"], data["cov"], second, epochs=1)
    _, a = M.read(first)
    _, b = M.read(second)
    np.testing.assert_array_equal(a["conv1d"][0], b["conv1d"][0])  # still frozen
    assert not np.allclose(a["dense"][0], b["dense"][0])  # the head went on from where it was
    assert summary["rows"][0]["val_loss"] < 0.9
    # coverage from another number of BAMs is refused
    with pytest.raises(UserError, match="has 2 coverage column.*trained on 1"):
        run(spec2, weights2, data["cov2"], data["cov2"], tmp_path / "x.h5", epochs=1)


def test_resume_upstream_checkpoints(data, tmp_path):
    spec, weights = T.resume_spec(str(MICRO / "upstream_models/tiny.ft_cov.h5"))
    assert spec.route == "coverage" and spec.head.join_lstm_layers == 0
    run(spec, weights, data["cov"], data["cov"], tmp_path / "a.h5", epochs=1)
    spec, weights = T.resume_spec(str(MICRO / "upstream_models/tiny.ft_freeze.h5"), head_only=True)
    assert spec.route == "head"
    run(spec, weights, data["labels"], data["labels"], tmp_path / "b.h5", epochs=1)
    _, b = M.read(tmp_path / "b.h5")
    np.testing.assert_array_equal(b["bidirectional"][1], weights["bidirectional"][1])
    assert not np.allclose(b["dense"][0], weights["dense"][0])


def test_same_seed_same_weights(data, tmp_path):
    def weights_with(seed, name):
        run(*T.scratch_spec(TINY), data["labels"], data["labels"], tmp_path / name, epochs=1, seed=seed)
        return M.read(tmp_path / name)[1]

    a, b, c = weights_with(7, "a.h5"), weights_with(7, "b.h5"), weights_with(8, "c.h5")
    for layer in a:
        for x, y in zip(a[layer], b[layer]):
            np.testing.assert_array_equal(x, y)
    assert not np.allclose(a["dense"][0], c["dense"][0])


def test_patience_and_check_every(data, tmp_path, caplog):
    caplog.set_level("WARNING", logger="helixer_tools")
    summary = run(*T.scratch_spec(TINY), data["labels"], data["labels"], tmp_path / "p.h5", epochs=30,
                  learning_rate=1e-12, optimizer="adam", patience=2, check_every=3)
    # nothing can improve at this learning rate: the first check (batch 3) saves, the next two (batch 6 and
    # the epoch's end, batch 7) do not, and training stops
    assert summary["checks"] == 3 and summary["batches"] == 7
    assert [r["saved"] for r in summary["rows"]] == [1, 0, 0]
    assert [r["batches_seen"] for r in summary["rows"]] == [3, 6, 7]
    # so few batches between checks and the stop is said (a first worse step needs more to recover from)
    assert ("with 3 batch(es) per check, patience 2 stops training after only 6 batch(es) without a better check; "
            "on this little data give --patience 11 or more") in caplog.text


def test_step_weights_as_upstream():
    pool = 9
    sw = np.ones((1, 27), np.int8)
    sw[0, 20] = 0  # step 2 has a masked base
    y = np.zeros((1, 27, 4), np.int8)
    y[0, :9, 0] = 1  # step 0: intergenic
    y[0, 9:14, 0] = 1  # step 1: intergenic and UTR
    y[0, 14:, 1] = 1
    tr = np.zeros((1, 27, 6), np.int8)
    tr[0, 12, 0] = 1  # transcript start in step 1
    w, mask = step_weights(sw, y, tr, pool, np.array([0.7, 1.6, 1.2, 1.2], np.float32),
                           np.array([1, 12, 3, 1, 12, 3], np.float32))
    np.testing.assert_allclose(w, [[0.7, (0.7 + 1.6) * 1, 0.0]], rtol=1e-6)
    np.testing.assert_array_equal(mask, [[True, True, False]])
    tr[0, 13, 1] = 1  # and a start codon: transition weights add up
    w, _ = step_weights(sw, y, tr, pool, None, np.array([1, 12, 3, 1, 12, 3], np.float32))
    np.testing.assert_allclose(w, [[1.0, 13.0, 0.0]])


def test_confusion_f1():
    c = Confusion()
    truth = np.eye(4)[[0, 1, 2, 3, 2, 2]]
    pred = np.eye(4)[[0, 1, 2, 2, 2, 0]]
    c.add(truth, pred)
    # CDS: TP 2, FP 1 (intron called CDS), FN 1 (CDS called intergenic)
    assert c.f1([2]) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    # genic micro-F1 over UTR, CDS, intron: TP 3, FP 1, FN 2
    assert c.f1([1, 2, 3]) == pytest.approx(6 / (6 + 1 + 2))
    assert c.f1([3]) == 0.0


def test_coding_phase_f1_reads_the_phase_as_the_gene_models_do():
    """Three CDS bases of phases 0, 1, 2 and an intergenic one: the phase output is unsure of the phase on the
    first two (0.4 for no phase beats each phase), the genic output calls CDS on the first two only."""
    y = np.eye(4)[[2, 2, 2, 0]][None]
    phases = np.eye(4)[[1, 2, 3, 0]][None]
    genic = np.eye(4)[[2, 2, 0, 0]][None]
    phase_pred = np.array([[[0.4, 0.35, 0.15, 0.1], [0.4, 0.1, 0.3, 0.2], [0.3, 0.1, 0.1, 0.5], [0.1, 0.9, 0, 0]]])
    np.testing.assert_array_equal(coding_phase_calls(genic, phase_pred), [[1, 2, 0, 0]])
    s = Scores()
    s.add(y, phases, genic, phase_pred, np.ones((1, 4), bool))
    out = s.summary()
    # argmax over four classes: no phase, no phase, phase 2 (right), phase 0 (wrong): TP 1, FP 1, FN 2
    assert out["phase_f1"] == pytest.approx(2 / (2 + 1 + 2))
    # coding phase: phase 0 and 1 right where CDS is called, the third base not called: TP 2, FP 0, FN 1
    assert out["coding_phase_f1"] == pytest.approx(4 / (4 + 0 + 1))


def test_phase_class_weights(data, tmp_path):
    """The phase loss weighs each true phase class: exactly -sum(w * y * log p) (Keras' own cross-entropy when
    every weight is 1), and a head trained with the default 1,3,3,3 gives the bases that are coding more
    probability of a phase (less of "no phase", which wins the argmax) than one trained with upstream's
    unweighted loss, from the same start."""
    keras = M._keras()
    rng = np.random.default_rng(0)
    truth = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (2, 3, 9))]
    logits = rng.normal(size=(2, 3, 9, 4)).astype(np.float32)
    predicted = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    w = np.array([1.0, 3.0, 2.0, 0.5], np.float32)
    got = np.asarray(T.weighted_cross_entropy(keras, w)(truth, predicted))
    np.testing.assert_allclose(got, -(truth * w * np.log(predicted)).sum(-1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(T.weighted_cross_entropy(keras, (1, 1, 1, 1))(truth, predicted)),
                               np.asarray(keras.losses.categorical_crossentropy(truth, predicted)), rtol=1e-5)
    assert T.TrainOptions().phase_class_weights == (1.0, 3.0, 3.0, 3.0)

    called = {}
    for weights in ((1, 1, 1, 1), (1, 3, 3, 3)):
        spec, start = T.head_spec(str(PRETRAINED))
        out = tmp_path / f"w{weights[1]}.h5"
        run(spec, start, data["labels"], data["labels"], out, epochs=3, learning_rate=1e-2,
            phase_class_weights=weights, checkpoint_metric="loss")
        net, _ = M.load(out)
        with h5py.File(data["labels"], "r") as f:
            x, phases = f["data/X"][:8].astype(np.float16), f["data/phases"][:8]
        _, phase = net.predict_on_batch(x)
        coding = phases.reshape(np.asarray(phase).shape).argmax(-1) != 0
        called[weights[1]] = float(np.asarray(phase)[..., 1:].sum(-1)[coding].mean())
        assert M.read(out)[0].provenance["training_options"]["phase_class_weights"] == list(weights)
    assert called[3] > called[1] + 0.1, called
    with pytest.raises(UserError, match="phase class weights need 4 values"):
        T.TrainOptions(phase_class_weights=(1, 3))
    with pytest.raises(UserError, match="phase class weights are all zero"):
        T.TrainOptions(phase_class_weights=(0, 0, 0, 0))


def test_stream_skips_rows_without_labels_and_reshuffles(data, tmp_path):
    path = tmp_path / "part.h5"
    shutil.copy(data["labels"], path)
    with h5py.File(path, "r+") as f:
        f["data/sample_weights"][3] = 0
        f["data/is_annotated"][5] = False
    parts = open_parts([str(path)], "training", None)
    assert len(parts[0].rows) == 26 and 3 not in parts[0].rows and 5 not in parts[0].rows
    stream = BatchStream(parts, 4, 9, shuffle=True, seed=1)
    assert len(stream) == 7
    e0, e0b, e1 = stream.order(0), stream.order(0), stream.order(1)
    np.testing.assert_array_equal(e0, e0b)
    assert not np.array_equal(e0, e1) and sorted(e0[:, 1]) == sorted(e1[:, 1])
    batches = list(stream.epoch(0))
    assert all(b.inputs[0].shape == (4, 21384, 4) and b.y.shape == (4, 2376, 9, 4) for b in batches)
    assert batches[-1].n == 4  # training: the short last batch is filled with other rows that count
    ordered = BatchStream(parts, 4, 9)
    last = list(ordered.epoch())[-1]  # validation: 26 = 6 x 4 + 2; the fill rows do not count
    assert last.n == 2 and last.inputs[0].shape[0] == 4
    assert not last.weights[2:].any() and not last.step_mask[2:].any() and last.step_mask[:2].any()
    stream.close()


def test_bad_input_is_refused_clearly(data, tmp_path):
    spec, weights = T.scratch_spec(TINY)
    with pytest.raises(UserError, match="subsequence length 10692 differs from 21384"):
        run(spec, weights, data["labels"], data["labels_short"], tmp_path / "x.h5")
    with pytest.raises(UserError, match="no evaluation/rnaseq_coverage; the coverage route needs"):
        run(*T.coverage_spec(str(PRETRAINED)), data["labels"], data["labels"], tmp_path / "x.h5")
    with pytest.raises(UserError, match="has 2 coverage column.*has 1"):
        run(*T.coverage_spec(str(PRETRAINED)), data["cov"], data["cov2"], tmp_path / "x.h5")
    empty = tmp_path / "empty.h5"
    shutil.copy(data["labels"], empty)
    with h5py.File(empty, "r+") as f:
        f["data/is_annotated"][:] = False
    with pytest.raises(UserError, match="validation set is empty"):
        run(spec, weights, data["labels"], empty, tmp_path / "x.h5")
    with pytest.raises(UserError, match="has no data/y; training needs labelled h5"):
        run(spec, weights, MICRO / "upstream_fasta.h5", data["labels"], tmp_path / "x.h5")
    with pytest.raises(UserError, match="not a Helixer model"):
        T.head_spec(str(data["labels"]))
    with pytest.raises(UserError, match="is a fine-tuned head model"):
        T.whole_spec(str(MICRO / "upstream_models/tiny.ft_cov.h5"))
    with pytest.raises(UserError, match="class weights need 4 values"):
        T.TrainOptions(class_weights=(1, 2, 3))
    with pytest.raises(UserError, match="directory to write it in does not exist"):
        run(spec, weights, data["labels"], data["labels"], tmp_path / "no" / "x.h5")
    assert not list(tmp_path.glob("x.h5")) and not list(tmp_path.glob(".*tmp*"))


def test_cli(data, tmp_path, capsys):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "training_data.h5").symlink_to(data["labels"])
    (d / "validation_data.h5").symlink_to(data["labels"])
    out = tmp_path / "m.h5"
    rc = cli.main(["head", "-l", str(PRETRAINED), "--data-dir", str(d), "-o", str(out), "-e", "1", "-b", "4",
                   "--class-weights", "[0.7, 1.6, 1.2, 1.2]", "--phase-class-weights", "1,1,1,1", "--metrics",
                   str(tmp_path / "m.tsv"), "-q"])
    assert rc == 0 and out.exists() and (tmp_path / "m.tsv").exists()
    capsys.readouterr()
    spec, _ = M.read(out)
    assert spec.provenance["training_options"]["class_weights"] == [0.7, 1.6, 1.2, 1.2]
    assert spec.provenance["training_options"]["phase_class_weights"] == [1, 1, 1, 1]
    assert spec.provenance["training_files"] == ["training_data.h5"]
    assert cli.main(["whole", "-l", str(MICRO / "upstream_models/tiny.ft_cov.h5"), "--training",
                     str(data["labels"]), "--validation", str(data["labels"]), "-o", str(tmp_path / "y.h5")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "helixer-train: error:" in err and "fine-tuned head model" in err
    with pytest.raises(SystemExit) as e:
        cli.main(["head", "-l", str(PRETRAINED), "--data-dir", str(d), "-o", "x.h5", "--transition-weights", "1,2"])
    assert e.value.code == 2
    assert "transition weights need 6 values" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["head", "-l", str(PRETRAINED), "--data-dir", str(d), "-o", "x.h5", "--phase-class-weights", "0,0,0,0"])
    assert e.value.code == 2 and "phase class weights are all zero" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # options of another route do not exist here
        cli.main(["head", "-l", str(PRETRAINED), "--data-dir", str(d), "-o", "x.h5", "--coverage-norm", "log"])
    assert cli.main(["head", "-l", str(PRETRAINED), "--training", str(data["labels"]), "-o", "x.h5"]) == 1
    assert "give --training and --validation" in capsys.readouterr().err


def test_copy_rows_makes_a_split(data, tmp_path):
    from helixer_tools.h5io import copy_rows

    rows = [0, 5, 12, 27]
    copy_rows(data["cov2"], tmp_path / "part.h5", rows, "test", ["x"])
    with h5py.File(data["cov2"]) as src, h5py.File(tmp_path / "part.h5") as dst:
        for name in ("data/X", "data/y", "data/start_ends", "data/seqids", "evaluation/rnaseq_coverage"):
            np.testing.assert_array_equal(dst[name][:], src[name][rows])
            assert dst[name].chunks == src[name].chunks and dst[name].compression == src[name].compression
        np.testing.assert_array_equal(dst["evaluation/rnaseq_meta/bam_files"][:], src["evaluation/rnaseq_meta/bam_files"][:])
        key = "helixer_tools_columns"
        assert dst["evaluation/rnaseq_coverage"].attrs[key] == src["evaluation/rnaseq_coverage"].attrs[key]
    parts = open_parts([str(tmp_path / "part.h5")], "training", "rnaseq")
    assert len(parts[0].columns) == 2


def test_each_route_sets_its_recipe(data, tmp_path, capsys):
    """Without --learning-rate (and --hidden-units), each route trains with what docs/benchmarks.md found
    better, says so in one log line, and records it: whole 3e-4 (upstream's), head 1e-2, head on pseudolabels
    (helixer-select's mark) 1e-3, coverage 1e-2 with a hidden layer as wide as the output, resume the
    checkpoint's own rate; an explicit value wins."""
    from helixer_tools.h5io import PSEUDOLABELS_ATTR

    pseudo = tmp_path / "pseudo.h5"
    shutil.copy(data["labels"], pseudo)
    with h5py.File(pseudo, "r+") as f:
        f.attrs[PSEUDOLABELS_ATTR] = "test"
    quick = ["-e", "1", "-b", "4", "--val-batch-size", "8"]

    def trained(route, training, *extra, model=PRETRAINED, validation=None):
        out = tmp_path / f"{route}{len(list(tmp_path.glob('*.model.h5')))}.model.h5"
        flag = "--checkpoint" if route == "resume" else "--pretrained"
        capsys.readouterr()
        assert cli.main([route, flag, str(model), "--training", str(training), "--validation",
                         str(validation or training), "-o", str(out), *quick, *extra]) == 0
        spec, _ = M.read(out)
        said = [line.split(" INFO ", 1)[1] for line in capsys.readouterr().err.splitlines()
                if " INFO learning rate" in line]
        return out, spec, said

    _, spec, said = trained("whole", data["labels"])
    assert spec.provenance["training_options"]["learning_rate"] == 3e-4
    assert said == ["learning rate 0.0003 (the whole route's, upstream's default; --learning-rate sets another)"]
    head, spec, said = trained("head", data["labels"])
    assert spec.provenance["training_options"]["learning_rate"] == 1e-2 and spec.head.hidden_units == 0
    _, spec, said = trained("head", pseudo, validation=data["labels"])
    assert spec.provenance["training_options"]["learning_rate"] == 1e-3
    assert said == ["learning rate 0.001 (the head route's on pseudolabels; --learning-rate sets another)"]
    _, spec, _ = trained("coverage", data["cov2"])
    assert spec.provenance["training_options"]["learning_rate"] == 1e-2 and spec.head.hidden_units == 72
    _, spec, said = trained("resume", data["labels"], model=head)
    assert spec.provenance["training_options"]["learning_rate"] == 1e-2 and said[0].endswith(
        "(the checkpoint's own; --learning-rate sets another)")
    _, spec, said = trained("head", data["labels"], "--learning-rate", "1e-4", "--hidden-units", "16")
    assert spec.provenance["training_options"]["learning_rate"] == 1e-4 and spec.head.hidden_units == 16
    assert said == []
