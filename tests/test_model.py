"""The HybridModel: upstream checkpoints load and reproduce upstream's predictions; ours round-trip."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from conftest import DATA, shared_path
from helixer_tools import model as M
from helixer_tools.errors import UserError
from helixer_tools.spec import Coverage, Head, ModelSpec, Trunk
from helixer_tools.training_data import normalise_coverage

MODELS = DATA / "micromonas/upstream_models"
GENOME = DATA / "micromonas/upstream_fasta.h5"
COVERAGE = DATA / "micromonas/upstream_coverage_only.h5"


def upstream_inputs(spec: ModelSpec, data: h5py.File, rows, coverage: h5py.File | None = None, norm: str = "log"):
    """The model inputs upstream (>= 0.3.6) predicted on: padding of minus-strand rows moved to the start.

    ``rows`` index ``coverage`` when it is given (its rows are found in ``data`` by seqid, start, end).
    """
    rows = list(rows)
    se = data["data/start_ends"][rows]
    data_rows = rows
    if spec.coverage is not None:
        where = {(s, a, b): i for i, (s, (a, b)) in
                 enumerate(zip(data["data/seqids"][:], data["data/start_ends"][:].tolist()))}
        se = coverage["data/start_ends"][rows]
        data_rows = [where[(s, a, b)] for s, (a, b) in zip(coverage["data/seqids"][rows], se.tolist())]
    x = np.stack([data["data/X"][r] for r in data_rows])
    arrays = [x]
    if spec.coverage is not None:
        cov = np.concatenate([coverage["evaluation/rnaseq_coverage"][rows],
                              coverage["evaluation/rnaseq_spliced_coverage"][rows]], axis=-1)
        arrays.append(cov)
    length = x.shape[1]
    unpadded = np.ones(x.shape[:2], dtype=bool)
    for i, (start, end) in enumerate(se):
        n = abs(int(end) - int(start))
        if n < length:
            if start > end:
                for a in arrays:
                    a[i] = np.concatenate([a[i, n:], a[i, :n]])
                unpadded[i, :length - n] = False
            else:
                unpadded[i, n:] = False
    if spec.coverage is not None:
        arrays[1] = normalise_coverage(arrays[1], norm)
    return arrays, unpadded


def predict(net, arrays):
    genic, phase = net.predict(arrays if len(arrays) > 1 else arrays[0], batch_size=4, verbose=0)
    n, length = arrays[0].shape[:2]
    return genic.reshape(n, length, 4), phase.reshape(n, length, 4)


EXCERPTS = ["tiny", "tiny.ft_whole", "tiny.ft_freeze", "tiny.ft_cov"]


@pytest.mark.parametrize("name", EXCERPTS)
def test_upstream_checkpoint_reproduces_upstream_predictions(name):
    net, spec = M.load(MODELS / f"{name}.h5")
    assert spec.route == "upstream"
    with h5py.File(MODELS / "predictions_excerpt.h5") as ex, h5py.File(GENOME) as g, h5py.File(COVERAGE) as c:
        rows = list(ex.attrs["rows"])
        arrays, unpadded = upstream_inputs(spec, g, rows, c)
        genic, phase = predict(net, arrays)
        up_genic = ex[name]["predictions"][:].astype(np.float32)
        up_phase = ex[name]["predictions_phase"][:].astype(np.float32)
    assert not unpadded.all()  # the excerpt includes a padded minus-strand row
    assert np.abs(genic - up_genic)[unpadded].max() < 1e-3
    assert np.abs(phase - up_phase)[unpadded].max() < 1e-3
    # and the predictions are not trivially alike: another model's differ
    if name != "tiny":
        with h5py.File(MODELS / "predictions_excerpt.h5") as ex:
            other = ex["tiny"]["predictions"][:].astype(np.float32)
        assert np.abs(genic - other)[unpadded].max() > 3e-3  # more than the tolerance above


def test_upstream_specs():
    spec, _ = M.read(MODELS / "tiny.h5")
    assert spec.trunk == Trunk(cnn_layers=1, filter_depth=16, kernel_size=9, pool_size=9, lstm_layers=1, units=16)
    assert spec.head is None
    cov, weights = M.read(MODELS / "tiny.ft_cov.h5")
    # upstream cut the trunk two layers before its dense: the tiny model's only BiLSTM is gone
    assert cov.head == Head(join_lstm_layers=0, hidden_units=16, coverage=Coverage("rnaseq", 1, "log"))
    assert weights["hidden"][0].shape == (9 * 16 + 9 * 2, 16)
    assert weights["dense"][0].shape == (16, 72)


FIXTURE_CASES = [
    ("tiny.h5", "fasta.h5", "tiny.predictions.h5"),
    ("released_shape.h5", "fasta.h5", "released_shape.predictions.h5"),
    ("released_size.h5", "fasta.h5", "released_size.predictions.h5"),
    ("tiny.ft_cov.h5", "coverage.h5", "tiny.ft_cov.predictions.h5"),
    ("released_shape.ft_cov.h5", "coverage.h5", "released_shape.ft_cov.predictions.h5"),
    ("released_size.ft_cov.h5", "coverage.h5", "released_size.ft_cov.predictions.h5"),
]


@pytest.mark.upstream
@pytest.mark.parametrize("model_file,data_file,predictions_file", FIXTURE_CASES)
def test_shared_fixture_models(model_file, data_file, predictions_file):
    d = shared_path("upstream_fixtures", "micromonas")
    if not (d / model_file).exists():
        pytest.skip(f"{model_file} not among the fixtures")
    net, spec = M.load(d / model_file)
    with h5py.File(d / data_file) as data, h5py.File(d / predictions_file) as pred:
        n = data["data/X"].shape[0]
        arrays, unpadded = upstream_inputs(spec, data, range(n), data)
        genic, phase = predict(net, arrays)
        assert np.abs(genic - pred["predictions"][:].astype(np.float32))[unpadded].max() < 1e-3
        assert np.abs(phase - pred["predictions_phase"][:].astype(np.float32))[unpadded].max() < 1e-3
    if model_file == "released_size.h5":  # the released v0.3 models' size
        assert net.count_params() == 2_105_672
        assert spec.trunk == Trunk(4, 96, 10, 9, 3, 128)
    if model_file.startswith("released") and ".ft_cov" in model_file:
        assert spec.head.join_lstm_layers == 2  # upstream drops the last of 3 BiLSTM layers


def test_checkpoint_round_trip(tmp_path):
    spec = ModelSpec(trunk=Trunk(cnn_layers=2, filter_depth=8, kernel_size=5, lstm_layers=2, units=8),
                     head=Head(join_lstm_layers=1, hidden_units=4,
                               coverage=Coverage("rnaseq", 2, "linear", ({"name": "a.bam"}, {"name": "b.bam"}))),
                     route="coverage", provenance={"pretrained": "x.h5"})
    net = M.build(spec)
    rng = np.random.default_rng(1)
    for layer in M.weighted_layers(net):
        layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])
    M.save(net, spec, tmp_path / "m.h5", argv=["helixer-train", "coverage"])
    net2, spec2 = M.load(tmp_path / "m.h5")
    assert spec2 == spec and spec2.provenance == spec.provenance
    assert spec2.coverage.columns[1]["name"] == "b.bam"
    x = [rng.integers(0, 2, (2, 90, 4)).astype(np.float16), rng.random((2, 90, 4)).astype(np.float16)]
    for a, b in zip(net.predict(x, verbose=0), net2.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
    # only the trunk is frozen
    frozen = {layer.name for layer in net2.layers if layer.weights and not layer.trainable}
    assert frozen == {"conv1d", "batch_normalization", "conv1d_1", "bidirectional"}
    assert not list(tmp_path.glob(".*tmp*"))


def test_upstream_model_saved_as_ours(tmp_path):
    net, spec = M.load(MODELS / "tiny.ft_cov.h5")
    M.save(net, spec, tmp_path / "ours.h5")
    net2, spec2 = M.load(tmp_path / "ours.h5")
    assert spec2 == spec
    with h5py.File(GENOME) as g, h5py.File(COVERAGE) as c:
        arrays, _ = upstream_inputs(spec, g, [0, 1], c)
    np.testing.assert_array_equal(predict(net, arrays)[0], predict(net2, arrays)[0])


def test_not_a_helixer_model(tmp_path):
    with pytest.raises(UserError, match="not a Helixer model"):
        M.read(GENOME)
    (tmp_path / "t.h5").write_text("hello")
    with pytest.raises(UserError, match="not a Helixer model.*not an HDF5"):
        M.read(tmp_path / "t.h5")
    with pytest.raises(UserError, match="no such model file"):
        M.read(tmp_path / "missing.h5")
    keras = M._keras()
    other = keras.Sequential([keras.layers.Input((10,)), keras.layers.Dense(3, name="d")])
    other.save(tmp_path / "other.h5")  # a Keras HDF5 model, but not a HybridModel
    with pytest.raises(UserError, match="not a Helixer HybridModel"):
        M.read(tmp_path / "other.h5")


def test_spec_validation():
    with pytest.raises(UserError, match="after BiLSTM layer 3 of a trunk with 2"):
        ModelSpec(trunk=Trunk(lstm_layers=2), head=Head(join_lstm_layers=3))
    with pytest.raises(UserError, match="normalisation"):
        Coverage(norm="sqrt")
    with pytest.raises(UserError, match="model description is not readable"):
        ModelSpec.from_json('{"trunk": {"cnn_layers": 1}}', "x.h5")

