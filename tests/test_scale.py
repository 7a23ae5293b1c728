"""Memory stays flat as the genome grows: the small version of benchmarks/bench_scale.py (issue 28).

The bundled A. thaliana 1 Mbp window as 4 and as 16 renamed, mutated copies (4 and 16 Mbp, its gene models
and RNA-seq alignments lifted with it; two sequences at least, so the steps that work on sequences in two
threads do so at both sizes), through every step that does not load TensorFlow (the predictions are
made from the labels, so the steps that read predictions run too), and helixer-train's input stream over
three such files. Each step's peak memory on 16 Mbp must
stay within 1.25x of its peak on 4 Mbp: a step that reads a whole per-base dataset ([:] on data/X, y,
predictions, coverage) adds 100-600 MB more at 16 Mbp and fails here, as import2geenuff did while it handed
GeenuFF the whole genome (348 -> 990 MB). Not 2 and 8 copies: at 2, geenuff2h5's four 1 Mbp windows in flight
are not all filled, and malloc's heap has not reached the size it keeps from 8 copies on (111 against 140 MB;
4, 8 and 16 copies: 124, 139, 141 MB). Time is left to the benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import DATA, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_scale import STREAM, build  # noqa: E402
from common import measure  # noqa: E402

SOURCE = {"fasta": DATA / "athaliana_1M/chr1_1M.fa.gz", "gff3": DATA / "athaliana_1M/chr1_1M.gff3.gz",
          "bam": DATA / "athaliana_1M/chr1_1M.rnaseq.bam"}
BASE, COPIES = 4, 16
BOUND = 1.25


def _predictions_from_labels(labels, out):
    """A predictions h5 in helixer-predict's layout (rows, L, 4 float16), the labels softened: no TensorFlow."""
    with h5py.File(labels) as f, h5py.File(out, "w") as g:
        g.attrs["padding"] = "end"  # as helixer-predict writes: aligned with data/X, its rows named
        for name in ("data/seqids", "data/start_ends"):
            f.copy(f[name], g, name)
        n, length = f["data/y"].shape[:2]
        for name, source in (("predictions", "data/y"), ("predictions_phase", "data/phases")):
            d = g.create_dataset(name, (n, length, 4), dtype="f2", chunks=(1, length, 4), compression="lzf")
            for i in range(n):
                d[i] = 0.05 + 0.8 * f[source][i].astype("f2")


def ours(command: str) -> str:
    return str(Path(sys.executable).with_name(command))


def _runs(work, threads=2):
    t = ["--threads", str(threads), "-q"]
    w = lambda f: str(work / f)  # noqa: E731
    return [
        ("fasta2h5", [ours("helixer-fasta2h5"), "-f", w("genome.fa"), "-s", "Athaliana", "-o", w("genome.h5"), *t]),
        ("import2geenuff", [ours("helixer-import2geenuff"), "--gff3", w("genome.gff3"), "--fasta", w("genome.fa"), "-s",
                            "Athaliana", "-o", w("genome.sqlite3"), "--log", w("import.log"), *t]),
        ("geenuff2h5", [ours("helixer-geenuff2h5"), "--db", w("genome.sqlite3"), "--h5", w("genome.h5"), "-o",
                        w("labels.h5"), *t]),
        ("add-coverage", [ours("helixer-add-coverage"), "--h5", w("labels.h5"), "--bam", w("genome.bam"), "-o",
                          w("coverage.h5"), "--second-read-is-sense-strand", *t]),
        ("predictions", None),
        ("post", [ours("helixer-post"), "--h5", w("genome.h5"), "--predictions", w("predictions.h5"), "-o",
                  w("predicted.gff3"), *t]),
        ("select", [ours("helixer-select"), "--labels", w("coverage.h5"), "--predictions", w("predictions.h5"),
                    "--keep-fraction", "0.5", "-o", w("selected.h5"), *t]),
        ("split", [ours("helixer-split"), "--h5", w("selected.h5"), "--training", w("training.h5"), "--validation",
                   w("validation.h5"), "--by-region", *t]),
        ("training stream", [sys.executable, "-c", STREAM, w("coverage.h5"), w("coverage.h5"),
                             w("coverage.h5")]),
        ("evaluate base-wise", [ours("helixer-evaluate"), "--labels", w("labels.h5"), "--predictions",
                                w("predictions.h5"), "--output", w("basewise.tsv"), *t]),
        ("evaluate gene level", [ours("helixer-evaluate"), "--reference", w("genome.gff3"), "--gff3",
                                 w("predicted.gff3"), "--output", w("genelevel.tsv"), *t]),
    ]


@pytest.fixture(scope="module")
def peaks(tmp_path_factory):
    result = {}
    for copies in (BASE, COPIES):
        work = tmp_path_factory.mktemp(f"x{copies}")
        result["inputs", copies] = build(work, copies, source=SOURCE)
        for step, cmd in _runs(work):
            if cmd is None:
                _predictions_from_labels(work / "labels.h5", work / "predictions.h5")
                continue
            result[step, copies] = measure(cmd).peak_rss_mb
        with h5py.File(work / "genome.h5") as f:
            result["rows", copies] = len(f["data/X"])
    return result


def test_the_copies_are_the_genome_four_times(peaks):
    few, many = peaks["inputs", BASE], peaks["inputs", COPIES]
    k = COPIES // BASE
    assert few["genes"] > 200 and few["alignments"] > 20_000
    assert (many["genes"], many["alignments"], many["mbp"]) == (k * few["genes"], k * few["alignments"],
                                                                pytest.approx(k * few["mbp"]))
    assert peaks["rows", COPIES] == k * peaks["rows", BASE]


@pytest.mark.parametrize("step", [s for s, cmd in _runs(ROOT) if cmd is not None])
def test_peak_memory_stays_flat(peaks, step):
    few, many = peaks[step, BASE], peaks[step, COPIES]
    assert many <= BOUND * few, f"{step}: {many:.0f} MB on {COPIES} Mbp against {few:.0f} MB on {BASE} Mbp"


def test_mutated_copies_differ_but_keep_case():
    from bench_scale import mutate

    seq = np.frombuffer(b"ACGTacgtNNnn" * 10_000, np.uint8)
    out = mutate(seq, 0.01, seed=1)
    changed = out != seq
    assert 500 < changed.sum() < 1500
    assert not changed[np.isin(seq, np.frombuffer(b"Nn", np.uint8))].any()
    assert ((out[changed] & 0x20) == (seq[changed] & 0x20)).all()  # soft-masking kept
    assert np.isin(out[changed] & 0xDF, np.frombuffer(b"ACGT", np.uint8)).all()
