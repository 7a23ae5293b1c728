"""helixer-export-model (issue 15): tuned models as Keras 2 checkpoints upstream Helixer loads.

Models of every route are trained here (one short epoch on the bundled Micromonas data), exported, and
predicted with three ways: helixer-predict on the original, helixer-predict on the export (identical), and
upstream HybridModel.py on the export (within 1e-3 on every unpadded base, with and without --overlap;
skipped when the upstream venv is absent).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import DATA
from helixer_tools import export as E
from helixer_tools import model as M
from helixer_tools import train as T
from helixer_tools.add_coverage import add_coverage
from helixer_tools.cli import export_model as cli
from helixer_tools.cli import predict as predict_cli
from helixer_tools.errors import UserError
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.geenuff2h5 import geenuff_to_h5
from helixer_tools.spec import Trunk

MICRO = DATA / "micromonas"
PRETRAINED = MICRO / "upstream_models/tiny.h5"
UPSTREAM_VENV = Path(os.environ.get("HELIXER_TOOLS_UPSTREAM_VENV",
                                    Path.home() / ".cache/helixer-tools/upstream-venv"))
FAST = dict(epochs=1, batch_size=4, val_batch_size=8, learning_rate=3e-3, class_weights=(0.7, 1.6, 1.2, 1.2))
ROUTES = ("scratch", "whole", "head", "head_hidden", "coverage", "coverage_before_last")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A model of every route trained by helixer-train's loop on the bundled data, and the data."""
    d = tmp_path_factory.mktemp("export")
    db = d / "micromonas.sqlite3"
    db.write_bytes(gzip.decompress((MICRO / "upstream_geenuff.sqlite3.gz").read_bytes()))
    fasta_to_h5(MICRO / "micromonas.fa", d / "genome.h5", "Mpusilla", progress=False)
    geenuff_to_h5(db, d / "labels.h5", h5_in=d / "genome.h5", progress=False)
    add_coverage(d / "labels.h5", [MICRO / "micromonas.rnaseq.bam"], d / "cov.h5", "second", progress=False)
    specs = {
        # two convolutions (batch normalisation), two BiLSTMs, both dropouts
        "scratch": T.scratch_spec(Trunk(cnn_layers=2, filter_depth=8, kernel_size=9, lstm_layers=2, units=8,
                                        dropout1=0.1, dropout2=0.1)),
        "whole": T.whole_spec(str(PRETRAINED)),
        "head": T.head_spec(str(PRETRAINED)),
        "head_hidden": T.head_spec(str(PRETRAINED), hidden_units=6),
        "coverage": T.coverage_spec(str(PRETRAINED), hidden_units=5),
        "coverage_before_last": T.coverage_spec(str(PRETRAINED), norm="linear", join_at="before-last-lstm"),
    }
    out = {"dir": d, "genome": d / "genome.h5", "cov": d / "cov.h5"}
    for route, (spec, weights) in specs.items():
        data = str(d / ("cov.h5" if spec.coverage else "labels.h5"))
        T.train(spec, weights, [data], [data], str(d / f"{route}.h5"), T.TrainOptions(**FAST), progress=False)
        out[route] = d / f"{route}.h5"
    return out


def data_for(models, route):
    return models["cov" if route.startswith("coverage") else "genome"]


def predict(model, h5, out, overlap=False):
    args = ["--model", str(model), "--h5", str(h5), "-o", str(out), "--batch-size", "8", "-q"]
    assert predict_cli.main(args + (["--overlap"] if overlap else [])) == 0
    with h5py.File(out) as f:
        return f["predictions"][:].astype(np.float32), f["predictions_phase"][:].astype(np.float32)


def layers(path):
    with h5py.File(path) as f:
        return json.loads(f.attrs["model_config"])["config"]["layers"]


# ------------------------------------------------------------------------------------------ our side

@pytest.mark.parametrize("route", ROUTES)
def test_round_trip_predicts_the_same(models, route, tmp_path):
    exported = tmp_path / "up.h5"
    result = E.export(models[route], exported)
    spec, original = M.read(models[route])
    spec2, again = M.read(exported)
    assert spec2 == spec and spec2.provenance == spec.provenance
    assert original.keys() == again.keys()
    for name in original:
        for a, b in zip(original[name], again[name]):
            assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    data = data_for(models, route)
    ours = predict(models[route], data, tmp_path / "a.h5")
    theirs = predict(exported, data, tmp_path / "b.h5")
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])
    assert ours[0].std() > 0.01  # a trained model, not a constant one
    assert (result.pretrained is not None) == route.startswith("coverage")
    assert not list(tmp_path.glob(".*tmp*"))


def test_plain_exports_have_upstreams_shape(models, tmp_path):
    E.export(models["scratch"], tmp_path / "s.h5")
    names = [layer["name"] for layer in layers(tmp_path / "s.h5")]
    assert names == ["main_input", "conv1d", "batch_normalization", "conv1d_1", "reshape", "dropout", "bidirectional",
                     "bidirectional_1", "dropout_1", "dense", "tf.split", "reshape_hat", "reshape_hat1", "genic",
                     "phase"]
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["keras_version"] == "2.15.0" and f.attrs["backend"] == "tensorflow"
        assert list(f["model_weights"].attrs["layer_names"]) == [n.encode() if isinstance(
            f["model_weights"].attrs["layer_names"][0], bytes) else n for n in names]
        weight_names = [w.decode() if isinstance(w, bytes) else w
                        for w in f["model_weights/bidirectional_1"].attrs["weight_names"]]
        assert weight_names[0] == "bidirectional_1/forward_lstm_1/lstm_cell/kernel:0" and len(weight_names) == 6
        assert f["model_weights/batch_normalization/batch_normalization/moving_variance:0"].shape == (8,)
        assert f["model_weights/dense/dense/bias:0"].shape == (72,)  # where Helixer.py reads the pool size
        assert "helixer-train" not in f.attrs["helixer_tools_tool"]
        assert f.attrs["helixer_tools_exported_from_md5"] == M.file_md5(models["scratch"])
    E.export(models["head_hidden"], tmp_path / "h.h5")
    head = {layer["name"]: layer for layer in layers(tmp_path / "h.h5")}
    assert head["dense"]["config"]["units"] == 6 and head["dense_1"]["config"]["units"] == 72
    assert head["bidirectional"]["config"]["trainable"] is False and head["dense_1"]["config"]["trainable"] is True
    with h5py.File(tmp_path / "h.h5") as f:
        assert f["model_weights/dense_1/dense_1/bias:0"].shape == (72,)
        assert f.attrs[E.COMMAND_ATTR].startswith("HybridModel.py -l h.h5 -t genome.h5 -p predictions.h5")


def test_coverage_export_and_its_companion(models, tmp_path):
    out = tmp_path / "cov_up.h5"
    result = E.export(models["coverage"], out)
    assert result.pretrained == tmp_path / "cov_up.pretrained.h5" and result.pretrained.exists()
    top = layers(out)
    assert [layer["class_name"] for layer in top[:4]] == ["InputLayer", "SlicingOpLambda", "SlicingOpLambda",
                                                          "Functional"]
    assert top[0]["config"]["batch_input_shape"] == [None, None, 6]
    nested = [layer["name"] for layer in top[3]["config"]["layers"]]
    assert nested == ["main_input", "conv1d", "reshape", "bidirectional"]
    assert {layer["name"]: layer["config"].get("units") for layer in top if layer["class_name"] == "Dense"} == \
        {"dense": 5, "dense_1": 72}
    # upstream cuts its --pretrained-model-path two layers before 'dense': that must be our last kept BiLSTM
    companion = [layer["name"] for layer in layers(result.pretrained)]
    assert companion[companion.index("dense") - 2] == "bidirectional"
    commands = result.commands
    assert commands[0] == "# coverage columns, in this order: micromonas.rnaseq.bam (second)"
    assert commands[1] == ("helixer-add-coverage --h5 genome.h5 --bam micromonas.rnaseq.bam "
                           "--second-read-is-sense-strand -o genome.cov.h5")
    assert commands[-1] == ("HybridModel.py -l cov_up.h5 --pretrained-model-path cov_up.pretrained.h5 -t genome.cov.h5 "
                            "-p predictions.h5 --input-coverage --coverage-norm log --post-coverage-hidden-layer "
                            "--units 10")
    with h5py.File(out) as f, h5py.File(result.pretrained) as p:
        assert f.attrs[E.COMMAND_ATTR] == "\n".join(commands)
        assert "not a gene caller" in p.attrs[E.ROLE_ATTR]
    # joined before the last BiLSTM (of one): the trunk ends at the pooling reshape
    result = E.export(models["coverage_before_last"], tmp_path / "c0.h5", tmp_path / "trunk.h5")
    companion = [layer["name"] for layer in layers(tmp_path / "trunk.h5")]
    assert companion[companion.index("dense") - 2] == "reshape"
    assert result.commands[-1].endswith("--input-coverage --coverage-norm linear")


def test_cli_and_refusals(models, tmp_path, capsys):
    out = tmp_path / "m.h5"
    assert cli.main(["--model", str(models["coverage"]), "-o", str(out), "--commands", str(tmp_path / "c.txt")]) == 0
    printed = capsys.readouterr().out
    assert "HybridModel.py -l m.h5 --pretrained-model-path m.pretrained.h5" in printed
    assert (tmp_path / "c.txt").read_text() in printed and (tmp_path / "m.pretrained.h5").exists()
    # a rerun replaces its own companion; a file of that name the user never named is not overwritten
    assert cli.main(["--model", str(models["coverage"]), "-o", str(out), "-q"]) == 0
    (tmp_path / "z.pretrained.h5").write_text("the user's own file\n")
    cases = [
        (["--model", str(models["coverage"]), "-o", str(tmp_path / "z.h5")],
         "z.pretrained.h5: exists and is not the companion file helixer-export-model wrote for z.h5"),
        (["--model", str(PRETRAINED), "-o", str(tmp_path / "x.h5")], "is already an upstream Helixer model"),
        (["--model", str(models["whole"]), "-o", str(tmp_path / "x.h5"), "--pretrained-output", str(tmp_path / "y.h5")],
         "is not a coverage model"),
        (["--model", str(models["coverage"]), "-o", str(tmp_path / "x.h5"), "--pretrained-output",
          str(tmp_path / "x.h5")], "are the same file"),
        (["--model", str(models["genome"]), "-o", str(tmp_path / "x.h5")], "not a Helixer model"),
        (["--model", str(tmp_path / "none.h5"), "-o", str(tmp_path / "x.h5")], "no such model file"),
        (["--model", str(models["whole"]), "-o", str(tmp_path / "no/x.h5")], "directory to write it in does not exist"),
    ]
    for args, message in cases:
        assert cli.main(args) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("helixer-export-model: error:") and message in err, err
    assert not list(tmp_path.glob("x.h5")) and not list(tmp_path.glob("y.h5")) and not list(tmp_path.glob(".*tmp*"))
    assert (tmp_path / "z.pretrained.h5").read_text() == "the user's own file\n" and not (tmp_path / "z.h5").exists()
    with pytest.raises(UserError, match="already an upstream"):
        E.export(MICRO / "upstream_models/tiny.ft_cov.h5", tmp_path / "x.h5")


# ------------------------------------------------------------------------------------------ upstream's side

def upstream_predict(exported: E.Export, route: str, data: Path, out: Path, overlap: bool) -> None:
    hybrid = UPSTREAM_VENV / "bin" / "HybridModel.py"
    if not hybrid.exists():
        pytest.skip(f"no upstream Helixer venv at {UPSTREAM_VENV} (../shared/upstream/setup_upstream_venv.sh)")
    cmd = [str(hybrid), "-l", str(exported.output), "-t", str(data), "-p", str(out), "--val-test-batch-size", "8"]
    if exported.pretrained:  # as the export's printed command says
        flags = exported.commands[-1].split("--input-coverage")[1].split()
        cmd += ["--pretrained-model-path", str(exported.pretrained), "--input-coverage", *flags]
    if overlap:
        cmd.append("--overlap")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out.parent)
    assert run.returncode == 0, run.stderr[-3000:]


def unpadded(upstream: np.ndarray, data: Path) -> tuple[np.ndarray, np.ndarray]:
    """Upstream's predictions with minus-strand padding moved to the end (as ours and data/X), and a mask of
    the real bases."""
    with h5py.File(data) as f:
        start_ends = f["data/start_ends"][:]
    length = upstream.shape[1]
    aligned, real = upstream.copy(), np.zeros(upstream.shape[:2], bool)
    for row, (start, end) in enumerate(start_ends):
        n = abs(int(end) - int(start))
        if start > end and n < length:
            aligned[row] = np.concatenate([upstream[row][length - n:], upstream[row][:length - n]])
        real[row, :n] = True
    return aligned, real


@pytest.mark.parametrize("overlap", [False, True], ids=["plain", "overlap"])
@pytest.mark.parametrize("route", ROUTES)
def test_upstream_predicts_with_the_export_as_we_do_with_the_original(models, route, overlap, tmp_path):
    exported = E.export(models[route], tmp_path / f"{route}_up.h5")
    data = data_for(models, route)
    upstream_predict(exported, route, data, tmp_path / "upstream.h5", overlap)
    ours = predict(models[route], data, tmp_path / "ours.h5", overlap)
    with h5py.File(tmp_path / "upstream.h5") as f:
        for key, mine in zip(("predictions", "predictions_phase"), ours):
            theirs, real = unpadded(f[key][:].astype(np.float32), data)
            assert np.abs(theirs - mine)[real].max() <= 1e-3, key


# ------------------------------------------------------------------------------------------ quiet TensorFlow

def test_tensorflow_is_quiet(models, tmp_path):
    labels = str(models["dir"] / "labels.h5")
    train = subprocess.run([str(Path(sys.executable).with_name("helixer-train")), "scratch", "--training", labels,
                            "--validation", labels, "-o", str(tmp_path / "m.h5"), "-e", "1", "-b", "8",
                            "--filter-depth", "4", "--units", "4", "-q"], capture_output=True, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert train.returncode == 0 and train.stderr == ""
    predict_cmd = [str(Path(sys.executable).with_name("helixer-predict")), "--model", str(PRETRAINED), "--h5",
                   str(MICRO / "upstream_fasta.h5"), "-o", str(tmp_path / "p.h5")]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run(predict_cmd + ["-q"], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    # the user's own TF_CPP_MIN_LOG_LEVEL=3 did not silence the messages TensorFlow logs before absl starts
    quiet = subprocess.run(predict_cmd + ["-q"], capture_output=True, text=True,
                           env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert quiet.returncode == 0 and quiet.stderr == ""
    normal = subprocess.run(predict_cmd, capture_output=True, text=True, env=env)
    lines = normal.stderr.splitlines()
    assert normal.returncode == 0 and len([line for line in lines if " INFO TensorFlow " in line]) == 1
    assert all(" INFO " in line for line in lines), lines
    assert any("on CPU (no GPU found)" in line or "on GPU: " in line for line in lines)
