"""helixer-select (most confident subsequences) and helixer-split (training/validation by sequence or region):
hand-made cases whose answers are known, real predictions, determinism, row-order independence, errors."""

from __future__ import annotations

import gzip
import json

import h5py
import numpy as np
import pytest

from conftest import DATA
from helixer_tools.cli import select as select_cli
from helixer_tools.cli import split as split_cli
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.h5io import layout, start_ends

L = 900


def labelled_h5(path, sequences, classes, coverage=False, species="Testus"):
    """A labels h5 of sequences [(name, length)] with subsequences of L bp, every base of row r of class
    classes[r] (an int, or an (L,) array), sample weights 1 on real bases."""
    seqs = layout(sequences, L)
    se = start_ends(seqs, L)
    n = len(se)
    y = np.zeros((n, L, 4), np.int8)
    w = np.zeros((n, L), np.int8)
    for r, (a, b) in enumerate(se.tolist()):
        m = abs(b - a)
        c = classes[r] if not np.isscalar(classes[r]) else np.full(L, classes[r])
        y[r, np.arange(m), np.asarray(c)[:m]] = 1
        w[r, :m] = 1
    seqids = np.array([s.seqid.encode() for s in seqs for _ in range(2 * s.n_chunks)], dtype="S50")
    with h5py.File(path, "w") as f:
        f["data/y"] = y
        f["data/sample_weights"] = w
        f["data/X"] = np.zeros((n, L, 4), np.float16)
        f["data/seqids"] = seqids
        f["data/start_ends"] = se
        f["data/species"] = np.array([species.encode()] * n, dtype="S25")
        if coverage:
            cov = f.create_dataset("evaluation/rnaseq_coverage", data=np.arange(n * L).reshape(n, L, 1) % 7)
            cov.attrs["helixer_tools_columns"] = json.dumps([{"name": "a.bam"}])
        f.attrs["input_path"] = "made by the test"
    return se, y, w


def predictions_h5(path, y, se, seqids, noise, rows=None, padding="end"):
    """Predictions = labels blended with `noise[r]` of a uniform distribution, so the row's distance is
    known: sum_c |y - p| = 2 * noise * 3/4 per labelled base."""
    n = len(y)
    rows = np.arange(n) if rows is None else rows  # row order of the predictions file
    p = np.zeros((n, L, 4), np.float16)
    for out_r, r in enumerate(rows):
        p[out_r] = (1 - noise[r]) * y[r] + noise[r] * 0.25
    with h5py.File(path, "w") as f:
        f["predictions"] = p
        f["predictions_phase"] = p
        f["data/seqids"] = seqids[rows]
        f["data/start_ends"] = se[rows]
        f["data/species"] = np.array([b"Testus"] * n, dtype="S25")
        if padding:
            f.attrs["padding"] = padding


def run(cli, *args):
    return cli.main([str(a) for a in args] + ["-q"])


def kept_keys(path):
    with h5py.File(path) as f:
        return sorted(zip(f["data/seqids"][:].tolist(), map(tuple, f["data/start_ends"][:].tolist())))


def table(path):
    lines = path.read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


# ------------------------------------------------------------------------------------------------
# helixer-select


@pytest.fixture
def hand_made(tmp_path):
    """12 rows: half wholly intergenic, half genic (CDS); each with a known distance."""
    sequences = [("chrA", 3 * L), ("chrB", 3 * L)]
    classes = [0, 2, 0, 2, 0, 2] * 2  # rows of chrA +, chrA -, chrB +, chrB -
    se, y, w = labelled_h5(tmp_path / "labels.h5", sequences, classes, coverage=True)
    with h5py.File(tmp_path / "labels.h5") as f:
        seqids = f["data/seqids"][:]
    noise = np.array([0.1, 0.5, 0.3, 0.2, 0.9, 0.05, 0.7, 0.4, 0.15, 0.6, 0.35, 0.8])
    predictions_h5(tmp_path / "pred.h5", y, se, seqids, noise)
    return tmp_path, se, seqids, y, noise


def test_select_keeps_the_known_most_confident_rows(hand_made):
    tmp, se, seqids, y, noise = hand_made
    out, tsv = tmp / "kept.h5", tmp / "rows.tsv"
    assert run(select_cli, "--labels", tmp / "labels.h5", "--predictions", tmp / "pred.h5", "--output", out,
               "--keep-fraction", "0.5", "--strata", "2", "--table", tsv, "--plot", tmp / "rows.png") == 0
    # 2 strata: the 6 intergenic rows and the 6 genic rows; each keeps its 3 lowest-noise rows
    ig = [r for r in range(12) if y[r, 0, 0]]
    genic = [r for r in range(12) if not y[r, 0, 0]]
    expect = sorted(ig, key=lambda r: noise[r])[:3] + sorted(genic, key=lambda r: noise[r])[:3]
    assert kept_keys(out) == sorted((seqids[r], tuple(se[r])) for r in expect)
    rows = table(tsv)
    assert len(rows) == 12 and sum(int(r["kept"]) for r in rows) == 6
    for r, row in enumerate(rows):
        assert float(row["distance"]) == pytest.approx(1.5 * noise[r], abs=2e-3)  # 2 * noise * 3/4
        assert float(row["intergenic_fraction"]) == (1.0 if r in ig else 0.0)
    assert (tmp / "rows.png").stat().st_size > 10000
    # every per-row dataset copied, coverage with its attributes, file attributes and provenance kept
    with h5py.File(out) as f, h5py.File(tmp / "labels.h5") as src:
        assert f["evaluation/rnaseq_coverage"].shape[0] == 6
        assert f["evaluation/rnaseq_coverage"].attrs["helixer_tools_columns"] == \
            src["evaluation/rnaseq_coverage"].attrs["helixer_tools_columns"]
        assert f.attrs["input_path"] == "made by the test" and f.attrs["helixer_tools_tool"] == "helixer-select"
        idx = [int(np.flatnonzero((src["data/start_ends"][:] == k[1]).all(axis=1) &
                                  (src["data/seqids"][:] == k[0]))[0]) for k in kept_keys(out)]
        order = np.argsort(idx)
        np.testing.assert_array_equal(f["evaluation/rnaseq_coverage"][:][order.argsort()],
                                      src["evaluation/rnaseq_coverage"][:][sorted(idx)][order.argsort()])


def test_select_ties_fill_strata(hand_made):
    """Half the rows are wholly intergenic (all tie): 6 strata are still 6 equal groups, not collapsed."""
    tmp, *_ = hand_made
    tsv = tmp / "rows.tsv"
    assert run(select_cli, "--labels", tmp / "labels.h5", "--predictions", tmp / "pred.h5", "--output",
               tmp / "k.h5", "--keep-fraction", "0.5", "--table", tsv) == 0
    rows = table(tsv)
    strata = [int(r["stratum"]) for r in rows]
    assert sorted(strata) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    for s in range(6):  # each stratum of two keeps one: its lower distance
        pair = [r for r in rows if int(r["stratum"]) == s]
        kept = [r for r in pair if r["kept"] == "1"]
        assert len(kept) == 1 and float(kept[0]["distance"]) == min(float(r["distance"]) for r in pair)


def test_select_does_not_depend_on_row_order(hand_made):
    tmp, se, seqids, y, noise = hand_made
    assert run(select_cli, "--labels", tmp / "labels.h5", "--predictions", tmp / "pred.h5", "--output",
               tmp / "a.h5") == 0
    shuffled = np.random.default_rng(1).permutation(len(se))
    predictions_h5(tmp / "pred_shuffled.h5", y, se, seqids, noise, rows=shuffled)
    assert run(select_cli, "--labels", tmp / "labels.h5", "--predictions", tmp / "pred_shuffled.h5", "--output",
               tmp / "b.h5") == 0
    assert kept_keys(tmp / "a.h5") == kept_keys(tmp / "b.h5")


def test_select_upstream_predictions_padding_first(tmp_path):
    """Upstream's predictions name no rows (give the genome h5) and put minus-strand padding first."""
    sequences = [("chrA", 2 * L + 300), ("chrB", 500)]
    n_rows = 2 * 3 + 2
    classes = [np.arange(L) % 4 for _ in range(n_rows)]
    se, y, w = labelled_h5(tmp_path / "labels.h5", sequences, classes)
    with h5py.File(tmp_path / "labels.h5") as f:
        seqids = f["data/seqids"][:]
    noise = np.linspace(0.05, 0.9, n_rows)
    predictions_h5(tmp_path / "ours.h5", y, se, seqids, noise)
    # the same predictions in upstream's layout, without row names or attribute
    with h5py.File(tmp_path / "ours.h5") as src, h5py.File(tmp_path / "upstream.h5", "w") as dst:
        p = src["predictions"][:]
        for r, (a, b) in enumerate(se.tolist()):
            m = abs(b - a)
            if a > b and m < L:
                p[r] = np.concatenate([p[r, m:], p[r, :m]])
        dst["predictions"] = p
    with h5py.File(tmp_path / "genome.h5", "w") as g:
        g["data/seqids"], g["data/start_ends"] = seqids, se
        g["data/species"] = np.array([b"Testus"] * n_rows, dtype="S25")
    base = ["--labels", tmp_path / "labels.h5", "--keep-fraction", "0.5", "--table"]
    assert run(select_cli, *base, tmp_path / "ours.tsv", "--predictions", tmp_path / "ours.h5", "-o", tmp_path / "a.h5") == 0
    assert run(select_cli, *base, tmp_path / "up.tsv", "--predictions", tmp_path / "upstream.h5", "-o", tmp_path / "b.h5") == 1
    assert run(select_cli, *base, tmp_path / "up.tsv", "--predictions", tmp_path / "upstream.h5", "-o", tmp_path / "b.h5",
               "--h5", tmp_path / "genome.h5") == 1  # padded minus rows, layout not said
    assert run(select_cli, *base, tmp_path / "up.tsv", "--predictions", tmp_path / "upstream.h5", "-o", tmp_path / "b.h5",
               "--h5", tmp_path / "genome.h5", "--predictions-padding", "start") == 0
    assert (tmp_path / "ours.tsv").read_text() == (tmp_path / "up.tsv").read_text()


def error_line(capsys, cli, *args) -> str:
    assert run(cli, *args) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_select_errors(hand_made, capsys):
    tmp, se, seqids, y, noise = hand_made
    base = ["--labels", tmp / "labels.h5", "--output", tmp / "k.h5"]
    assert "keeps none" in error_line(capsys, select_cli, *base, "--predictions", tmp / "pred.h5",
                                      "--keep-fraction", "0.01")
    with pytest.raises(SystemExit) as e:  # more than every row is a usage error
        select_cli.main([str(a) for a in base] + ["--predictions", str(tmp / "pred.h5"), "--keep-fraction", "1.5"])
    assert e.value.code == 2 and "not a number in (0, 1]" in capsys.readouterr().err
    # 1: no filter (the guide's advice for good predictions), every labelled row kept and marked as pseudolabels
    assert select_cli.main([str(a) for a in base] + ["--predictions", str(tmp / "pred.h5"), "--keep-fraction", "1",
                                                     "-q"]) == 0
    with h5py.File(tmp / "labels.h5") as src, h5py.File(tmp / "k.h5") as dst:
        labelled = int((src["data/sample_weights"][:].reshape(len(src["data/sample_weights"]), -1) > 0).any(1).sum())
        assert dst["data/y"].shape[0] == labelled > 0 and "helixer_tools_pseudolabels" in dst.attrs
    (tmp / "k.h5").unlink()
    # a row missing in the predictions
    predictions_h5(tmp / "short.h5", y[:-1], se[:-1], seqids[:-1], noise)
    assert "no row for chrB" in error_line(capsys, select_cli, *base, "--predictions", tmp / "short.h5")
    # another species, another subsequence length
    with h5py.File(tmp / "pred.h5") as src, h5py.File(tmp / "other.h5", "w") as dst:
        for k in ("predictions", "data/seqids", "data/start_ends"):
            dst[k] = src[k][:]
        dst["data/species"] = np.array([b"Other"] * len(se), dtype="S25")
        dst.attrs["padding"] = "end"
    assert "species" in error_line(capsys, select_cli, *base, "--predictions", tmp / "other.h5")
    with h5py.File(tmp / "wide.h5", "w") as dst:
        dst["predictions"] = np.zeros((len(se), 2 * L, 4), np.float16)
    assert "subsequences of" in error_line(capsys, select_cli, *base, "--predictions", tmp / "wide.h5")
    assert not (tmp / "k.h5").exists()


def test_select_on_real_pseudolabels(tmp_path):
    """The guide's chain on A. thaliana: predictions -> helixer-post -> import -> labels -> select."""
    from helixer_tools.cli import geenuff2h5, import2geenuff, post
    from helixer_tools.predict import predict_h5

    fasta = tmp_path / "genome.fa"
    fasta.write_bytes(gzip.open(DATA / "athaliana_1M/chr1_1M.fa.gz").read()[:400_000])
    genome, pred = tmp_path / "genome.h5", tmp_path / "pred.h5"
    fasta_to_h5(fasta, genome, "Athaliana", progress=False)
    predict_h5(str(DATA / "athaliana_1M/chr1_0-10M.model.h5"), str(genome), str(pred), overlap=True, progress=False)
    assert post.main(["--h5", str(genome), "--predictions", str(pred), "--output", str(tmp_path / "p.gff3"), "-q"]) == 0
    assert import2geenuff.main(["--gff3", str(tmp_path / "p.gff3"), "--fasta", str(fasta), "--species", "Athaliana",
                                "--output", str(tmp_path / "p.sqlite3"), "--log", str(tmp_path / "p.log"), "-q"]) == 0
    assert geenuff2h5.main(["--db", str(tmp_path / "p.sqlite3"), "--h5", str(genome), "--output",
                            str(tmp_path / "labels.h5"), "-q"]) == 0
    assert run(select_cli, "--labels", tmp_path / "labels.h5", "--predictions", pred, "-o", tmp_path / "kept.h5",
               "--table", tmp_path / "rows.tsv") == 0
    rows = table(tmp_path / "rows.tsv")
    kept = [float(r["distance"]) for r in rows if r["kept"] == "1"]
    dropped = [float(r["distance"]) for r in rows if r["kept"] == "0" and r["distance"] != "nan"]
    assert len(kept) == len(rows) // 2 and np.mean(kept) < np.mean(dropped)
    assert len({r["stratum"] for r in rows if r["kept"] == "1"}) == 6
    # same selection a second time
    assert run(select_cli, "--labels", tmp_path / "labels.h5", "--predictions", pred, "-o", tmp_path / "kept2.h5") == 0
    assert kept_keys(tmp_path / "kept.h5") == kept_keys(tmp_path / "kept2.h5")
    # marked as pseudolabels, and still after a split: helixer-train warns when it validates on them
    assert run(split_cli, "--h5", tmp_path / "kept.h5", "--output-dir", tmp_path / "split", "--by-region",
               "--block-size", "42768", "--val-fraction", "0.3") == 0
    for path in (tmp_path / "kept.h5", tmp_path / "split/validation_data.h5"):
        with h5py.File(path) as f:
            assert json.loads(f.attrs["helixer_tools_pseudolabels"]) == {"predictions": "pred.h5", "keep_fraction": 0.5}
    with h5py.File(tmp_path / "labels.h5") as f:
        assert "helixer_tools_pseudolabels" not in f.attrs


# ------------------------------------------------------------------------------------------------
# helixer-split


@pytest.fixture
def contigs(tmp_path):
    """A. thaliana chr1's first Mbp cut into 60 contigs of varied length (2-40 kbp)."""
    seq = "".join(line.strip() for line in gzip.open(DATA / "athaliana_1M/chr1_1M.fa.gz", "rt")
                  if not line.startswith(">"))
    rng = np.random.default_rng(5)
    lengths = rng.integers(2_000, 40_000, 60)
    lengths = (lengths * (990_000 / lengths.sum())).astype(int)  # the window holds 1 Mbp
    pos, records = 0, []
    for i, n in enumerate(lengths):
        records.append(f">ctg{i:02d}\n{seq[pos:pos + n]}\n")
        pos += n
    fasta = tmp_path / "contigs.fa"
    fasta.write_text("".join(records))
    h5 = tmp_path / "contigs.h5"
    fasta_to_h5(fasta, h5, "Athaliana", subsequence_length=9000, progress=False)
    with h5py.File(h5, "r+") as f:  # labels (all intergenic): split makes training data and needs them
        y = np.zeros(f["data/X"].shape, np.int8)
        y[..., 0] = 1
        f.create_dataset("data/y", data=y)
    return h5


def sides(tmp):
    out = {}
    for side in ("training", "validation"):
        with h5py.File(tmp / f"{side}_data.h5") as f:
            out[side] = (f["data/seqids"][:].tolist(), f["data/start_ends"][:])
    return out


def test_split_by_sequence(contigs, tmp_path):
    out = tmp_path / "split"
    assert run(split_cli, "--h5", contigs, "--output-dir", out, "--report", tmp_path / "r.tsv", "--seed", "3") == 0
    s = sides(out)
    train, val = set(s["training"][0]), set(s["validation"][0])
    assert train and val and not train & val  # disjoint by sequence: both strands on one side
    with h5py.File(contigs) as f:
        n = len(f["data/seqids"])
        counts = {}
        for x in f["data/seqids"][:].tolist():
            counts[x] = counts.get(x, 0) + 1
    assert len(s["training"][0]) + len(s["validation"][0]) == n
    assert 0.1 < len(s["validation"][0]) / n < 0.35
    # N90 groups: the large sequences and the small rest are both on the validation side
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    cum = np.cumsum([counts[k] for k in ranked])
    n90 = int(np.searchsorted(cum, int(0.9 * cum[-1])))
    assert val & set(ranked[:n90 + 1]) and val & set(ranked[n90 + 1:])
    # seeded: the same again, another seed another draw
    assert run(split_cli, "--h5", contigs, "--output-dir", tmp_path / "again", "--seed", "3") == 0
    assert sides(tmp_path / "again")["validation"][0] == s["validation"][0]
    assert run(split_cli, "--h5", contigs, "--output-dir", tmp_path / "other", "--seed", "4") == 0
    assert set(sides(tmp_path / "other")["validation"][0]) != val
    report = table(tmp_path / "r.tsv")
    assert [r["seqid"] for r in report[-2:]] == ["(all)", "(all)"]
    assert int(report[-1]["subsequences"]) == len(s["validation"][0])


def test_split_one_chromosome_needs_by_region(tmp_path, capsys):
    se, y, w = labelled_h5(tmp_path / "one.h5", [("chr1", 40 * L + 100)], [i % 3 for i in range(82)])
    err = error_line(capsys, split_cli, "--h5", tmp_path / "one.h5", "--output-dir", tmp_path / "out")
    assert "--by-region" in err
    assert not (tmp_path / "out" / "training_data.h5").exists()
    # two chromosomes of equal size: a whole-sequence split would put half into validation
    labelled_h5(tmp_path / "two.h5", [("chr1", 20 * L), ("chr2", 20 * L)], [0] * 80)
    assert "--by-region" in error_line(capsys, split_cli, "--h5", tmp_path / "two.h5", "--output-dir", tmp_path / "out")
    # by region: contiguous blocks, both strands together, no locus on both sides
    assert run(split_cli, "--h5", tmp_path / "one.h5", "--output-dir", tmp_path / "out", "--by-region",
               "--block-size", str(4 * L), "--report", tmp_path / "r.tsv") == 0
    s = sides(tmp_path / "out")
    spans = {side: {(min(a, b), max(a, b)) for a, b in s[side][1].tolist()} for side in s}
    assert spans["training"] and spans["validation"] and not spans["training"] & spans["validation"]
    for side in s:  # both strands of every chunk on the same side
        assert sorted(tuple(x) for x in s[side][1].tolist() if x[0] < x[1]) == \
            sorted((b, a) for a, b in s[side][1].tolist() if a > b)
    blocks = {side: {min(a, b) // (4 * L) for a, b in s[side][1].tolist()} for side in s}
    assert not blocks["training"] & blocks["validation"]
    assert 0.1 < len(s["validation"][1]) / 82 < 0.35
    with h5py.File(tmp_path / "out" / "validation_data.h5") as f:
        assert f["data/y"].shape[1:] == (L, 4) and f.attrs["helixer_tools_tool"] == "helixer-split"
    report = table(tmp_path / "r.tsv")
    genic = [float(r["genic_fraction"]) for r in report if r["seqid"] == "(all)"]
    assert all(0.5 < g < 0.8 for g in genic)  # classes 0, 1, 2 in turn: two thirds genic
    assert "multiple of the subsequence length" in error_line(
        capsys, split_cli, "--h5", tmp_path / "one.h5", "--output-dir", tmp_path / "o2", "--by-region",
        "--block-size", "1000")


def test_split_named_outputs_and_usage_errors(contigs, tmp_path, capsys):
    assert run(split_cli, "--h5", contigs, "--training", tmp_path / "t.h5", "--validation", tmp_path / "v.h5") == 0
    assert (tmp_path / "t.h5").exists() and (tmp_path / "v.h5").exists()
    assert "not both" in error_line(capsys, split_cli, "--h5", contigs, "--output-dir", tmp_path, "--training",
                                    tmp_path / "x.h5")
    assert "--output-dir" in error_line(capsys, split_cli, "--h5", contigs, "--training", tmp_path / "x.h5")
    assert "no such file" in error_line(capsys, split_cli, "--h5", tmp_path / "missing.h5", "--output-dir", tmp_path)
