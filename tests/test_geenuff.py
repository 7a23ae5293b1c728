"""helixer-import2geenuff and helixer-geenuff2h5: equal to upstream on real genomes; clear errors."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import sqlite3
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import DATA, shared_path
from helixer_tools.errors import UserError
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.geenuff2h5 import geenuff_to_h5
from helixer_tools.import2geenuff import check_gff3, import_to_geenuff

LABELS = ("y", "phases", "transitions", "sample_weights", "gene_lengths", "err_samples",
          "fully_intergenic_samples", "is_annotated", "seqids", "species", "start_ends")


def joined(ours, upstream):
    """Our row index for each upstream row, matched on (seqid, start, end)."""
    key = {(s, a, b): i for i, (s, (a, b)) in enumerate(zip(ours["data/seqids"][:], ours["data/start_ends"][:].tolist()))}
    return [key[(s, a, b)] for s, (a, b) in zip(upstream["data/seqids"][:], upstream["data/start_ends"][:].tolist())]


def assert_labels_equal(ours_path, upstream_path, upstream_x=None):
    with h5py.File(ours_path) as ours, h5py.File(upstream_path) as up:
        order = joined(ours, up)
        for key in LABELS:
            a, b = ours[f"data/{key}"], up[f"data/{key}"]
            assert a.dtype == b.dtype and a.shape == b.shape, key
            assert a.chunks == b.chunks and a.shuffle == b.shuffle, key
            assert np.array_equal(a[:][order], b[:]), key
        if upstream_x is not None:
            with h5py.File(upstream_x) as fx:
                x_order = joined(ours, fx)
                assert np.array_equal(ours["data/X"][:][x_order], fx["data/X"][:])
        return order


@pytest.fixture(scope="module")
def micromonas_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "upstream.sqlite3"
    with gzip.open(DATA / "micromonas/upstream_geenuff.sqlite3.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


# ---------------------------------------------------------------- geenuff2h5 on upstream's database


def test_db_only_rows_and_X_equal_upstream(micromonas_db, tmp_path):
    out = tmp_path / "labels.h5"
    geenuff_to_h5(micromonas_db, out, threads=2, progress=False, window_bp=50_000)
    order = assert_labels_equal(out, DATA / "micromonas/upstream_labels_noX.h5", DATA / "micromonas/upstream_fasta.h5")
    assert order == list(range(len(order)))  # same row order as upstream: longest sequence first


def test_join_keeps_fasta2h5_rows_and_copies_X(micromonas_db, tmp_path):
    fasta_h5 = DATA / "micromonas/upstream_fasta.h5"
    out = tmp_path / "labels.h5"
    geenuff_to_h5(micromonas_db, out, h5_in=fasta_h5, threads=1, progress=False)
    with h5py.File(out) as f, h5py.File(fasta_h5) as src:
        assert np.array_equal(f["data/seqids"][:], src["data/seqids"][:])  # FASTA order, not length order
        assert np.array_equal(f["data/start_ends"][:], src["data/start_ends"][:])
        assert f["data/X"][:].tobytes() == src["data/X"][:].tobytes()
        assert f["data/X"].compression == src["data/X"].compression
    order = assert_labels_equal(out, DATA / "micromonas/upstream_labels_noX.h5")
    assert order != list(range(len(order)))  # the two files really are ordered differently


def test_lzf_and_window_size_do_not_change_arrays(micromonas_db, tmp_path):
    geenuff_to_h5(micromonas_db, tmp_path / "a.h5", progress=False, window_bp=10**9)
    geenuff_to_h5(micromonas_db, tmp_path / "b.h5", progress=False, compression="lzf", window_bp=21384, threads=3)
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        assert b["data/y"].compression == "lzf"
        for key in LABELS + ("X",):
            assert np.array_equal(a[f"data/{key}"][:], b[f"data/{key}"][:]), key


@pytest.mark.upstream
def test_equal_to_shared_upstream_fixture_with_X(tmp_path):
    db = shared_path("upstream_fixtures", "micromonas", "geenuff.sqlite3")
    out = tmp_path / "labels.h5"
    geenuff_to_h5(db, out, progress=False)
    with h5py.File(out) as a, h5py.File(db.parent / "labels.h5") as b:
        for key in b["data"]:
            assert a[f"data/{key}"][:].tobytes() == b[f"data/{key}"][:].tobytes(), key


# ---------------------------------------------------------------- the whole chain through our tools


def without_masks(db, tmp_path):
    """A copy of our database without the regions our import lists for training to mask (pseudogenes, ...),
    which upstream does not have, and those regions."""
    unmasked = tmp_path / "unmasked.sqlite3"
    shutil.copy(db, unmasked)
    with sqlite3.connect(unmasked) as con:
        masks = con.execute('SELECT seqid, start, "end", strand, reason FROM helixer_tools_mask').fetchall()
        con.execute("DROP TABLE helixer_tools_mask")
    return unmasked, masks


def test_chain_athaliana_1M_equals_upstream(tmp_path):
    """our import (our dependency stack) -> our fasta2h5 -> our geenuff2h5 == upstream's chain."""
    db, log = tmp_path / "at.sqlite3", tmp_path / "import.log"
    counts = import_to_geenuff(DATA / "athaliana_1M/chr1_1M.gff3.gz", DATA / "athaliana_1M/chr1_1M.fa.gz", db, log,
                               "Athaliana")
    assert counts["genes"] > 300 and counts["geenuff_transcript"] > 500
    assert "missing_utr_5p" in log.read_text() or log.stat().st_size > 1000
    fasta_h5 = tmp_path / "at.h5"
    fasta_to_h5(DATA / "athaliana_1M/chr1_1M.fa.gz", fasta_h5, "Athaliana", progress=False)
    unmasked, masks = without_masks(db, tmp_path)
    out = tmp_path / "labels.h5"
    geenuff_to_h5(unmasked, out, h5_in=fasta_h5, threads=2, progress=False, window_bp=100_000)
    assert_labels_equal(out, DATA / "athaliana_1M/upstream_labels_noX.h5", DATA / "athaliana_1M/upstream_fasta.h5")
    # with it: the same classes, and sample weight 0 on the masked genes' strand, nowhere else
    assert [m[4] for m in masks] == ["pseudogene"] * 5  # the window's 5 pseudogenes
    masked_out = tmp_path / "masked.h5"
    geenuff_to_h5(db, masked_out, h5_in=fasta_h5, threads=2, progress=False)
    with h5py.File(out) as a, h5py.File(masked_out) as b:
        assert np.array_equal(a["data/y"][:], b["data/y"][:])
        se = a["data/start_ends"][:]
        expected = a["data/sample_weights"][:].copy()
        for _, start, end, strand, _ in masks:
            for i, (r0, r1) in enumerate(se):
                plus = r0 < r1
                if (strand == "+") != plus and strand != ".":
                    continue
                lo, hi = min(r0, r1), max(r0, r1)
                a0, a1 = max(start, lo), min(end, hi)
                if a0 < a1:
                    idx = np.arange(a0, a1) - lo if plus else hi - 1 - np.arange(a0, a1)
                    expected[i, idx] = 0
        found = b["data/sample_weights"][:]
        assert np.array_equal(found, expected) and (found == 0).sum() > (a["data/sample_weights"][:] == 0).sum()


def test_chain_micromonas_import_equals_upstream(tmp_path):
    db, log = tmp_path / "m.sqlite3", tmp_path / "m.log"
    counts = import_to_geenuff(DATA / "micromonas/micromonas.gff3.gz", DATA / "micromonas/micromonas.fa", db, log,
                               "Mpusilla")
    assert counts["missing_utr_3p"] == 70 and counts["too_short_intron"] == 3  # as upstream's import flagged
    out = tmp_path / "labels.h5"
    unmasked, masks = without_masks(db, tmp_path)
    assert [m[4] for m in masks] == ["pseudogene"]
    geenuff_to_h5(unmasked, out, progress=False)
    assert_labels_equal(out, DATA / "micromonas/upstream_labels_noX.h5", DATA / "micromonas/upstream_fasta.h5")


# ---------------------------------------------------------------- errors


def _gff(tmp_path, body, name="a.gff3"):
    path = tmp_path / name
    path.write_text("##gff-version 3\n" + body)
    return path


GENE = ("chr1\tt\tgene\t1\t30\t.\t+\t.\tID=g1\n"
        "chr1\tt\tmRNA\t1\t30\t.\t+\t.\tID=t1;Parent=g1\n"
        "chr1\tt\texon\t1\t30\t.\t+\t.\tParent=t1\n"
        "chr1\tt\tCDS\t4\t27\t.\t+\t0\tParent=t1\n")


@pytest.mark.parametrize("body,message", [
    (GENE.replace("\tmRNA\t", "\tgene_model\t"), "line 3: unknown feature type 'gene_model'"),
    (GENE.replace("ID=t1;Parent=g1", "ID=t1"), "line 3: mRNA 't1' has no Parent attribute"),
    (GENE.replace("chr1\tt\tCDS", "chrX\tt\tCDS"), "line 5: sequence 'chrX' is not in the FASTA"),
    (GENE.replace("Parent=g1", "Parent=g1,g2"), "line 3: mRNA 't1' has several Parents"),
    (GENE + "chr1\tt\texon\t5\n", "line 6: expected 9 tab-separated columns, found 4"),
    (GENE.replace("\t4\t27\t", "\t40\t27\t"), "line 5: start '40' and end '27'"),
    (GENE.replace("\t+\t0\t", "\t+\t3\t"), "line 5: phase '3'"),
    (GENE + "##FASTA\n>chr1\nACGT\n", "line 6: an embedded ##FASTA section is not supported"),
])
def test_gff3_errors_name_the_line(tmp_path, body, message):
    with pytest.raises(UserError) as err:
        check_gff3(_gff(tmp_path, body), {"chr1": 100})
    assert message in str(err.value) and str(err.value).startswith(str(tmp_path / "a.gff3"))


def run(tool, *args):
    return subprocess.run([sys.executable, "-m", f"helixer_tools.cli.{tool}", *map(str, args)],
                          capture_output=True, text=True)


def test_import_cli_error_leaves_nothing(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ATG" + "GCA" * 8 + "TAA" + "\n")
    gff = _gff(tmp_path, GENE.replace("\t0\tParent=t1", "\t0\tID=c1"))
    proc = run("import2geenuff", "--gff3", gff, "--fasta", fasta, "-s", "Sp", "-o", tmp_path / "o.sqlite3",
               "--log", tmp_path / "o.log")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("line 5: CDS without a Parent attribute; GeenuFF would "
                                                         "attach it to whatever gene came before it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gff3", "g.fa"]


def test_import_cli_small_gene_and_geenuff2h5_cli(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ATG" + "GCA" * 8 + "TAA" + "\n")
    db = tmp_path / "o.sqlite3"
    proc = run("import2geenuff", "--gff3", _gff(tmp_path, GENE), "--fasta", fasta, "-s", "Sp", "-o", db,
               "--log", tmp_path / "o.log", "--min-intron-length", "10")
    assert proc.returncode == 0, proc.stderr
    assert "1 genes, 1 transcripts" in proc.stderr and "GeenuFF" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gff3", "g.fa", "o.log", "o.sqlite3"]
    proc = run("geenuff2h5", "--db", db, "-o", tmp_path / "l.h5", "-l", "9", "-q")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "l.h5") as f:
        y = f["data/y"][:]
        assert y.shape == (8, 9, 4)  # 30 bp -> 4 chunks per strand
        assert f["data/is_annotated"][:].all() and f["data/species"][0] == b"Sp"
        assert f.attrs["helixer_tools_tool"] == "helixer-geenuff2h5"
        plus = np.concatenate(y[:4])[:30].argmax(1)
        assert plus.tolist() == [1, 1, 1] + [2] * 24 + [1, 1, 1]  # UTR, CDS, UTR; minus strand intergenic
        assert (np.concatenate(y[4:])[:, 0] == 1).sum() == 30


def test_import_one_sequence_at_a_time_keeps_every_gene(tmp_path):
    """Gene models go to GeenuFF one sequence at a time, each sequence's together: a file whose chr1 rows come
    back after chr2's keeps both chr1 genes (GeenuFF's own reader keeps a sequence's last block only), and
    each coordinate, sequence and digest is as GeenuFF's own import writes them (FASTA order, upper case)."""
    body = (GENE + GENE.replace("chr1", "chr2").replace("=g1", "=g2").replace("=t1", "=t2")
            + GENE.replace("\t1\t30\t", "\t31\t60\t").replace("\t4\t27\t", "\t34\t57\t")
            .replace("=g1", "=g3").replace("=t1", "=t3"))
    gene = "ATG" + "GCA" * 8 + "TAA"
    fasta = tmp_path / "g.fa"
    fasta.write_text(f">chr2 second\n{gene.lower()}\n>chr1\n{gene}\n{gene}\n")
    db = tmp_path / "o.sqlite3"
    import_to_geenuff(_gff(tmp_path, body), fasta, db, tmp_path / "o.log", "Sp")
    con = sqlite3.connect(db)
    coords = con.execute("SELECT id, seqid, length, sequence, sha1 FROM coordinate ORDER BY id").fetchall()
    assert coords == [(1, "chr2", 30, gene, hashlib.sha1(gene.encode()).hexdigest()),
                      (2, "chr1", 60, gene * 2, hashlib.sha1((gene * 2).encode()).hexdigest())]
    genes = con.execute("SELECT c.seqid, s.given_name FROM super_locus s JOIN transcript t ON t.super_locus_id = s.id "
                        "JOIN transcript_piece p ON p.transcript_id = t.id JOIN association_transcript_piece_to_feature a "
                        "ON a.transcript_piece_id = p.id JOIN feature f ON f.id = a.feature_id JOIN coordinate c ON "
                        "c.id = f.coordinate_id WHERE f.type = 'geenuff_cds' ORDER BY s.id").fetchall()
    assert genes == [("chr1", "g1"), ("chr1", "g3"), ("chr2", "g2")]  # in the order the sequences first appear
    con.close()


def _copy_db(src, tmp_path):
    dst = tmp_path / "copy.sqlite3"
    shutil.copy(src, dst)
    return dst


@pytest.mark.parametrize("change,message", [
    ("INSERT INTO genome (id, species, accession, version, acquired_from) VALUES (2, 'Other', '', 'v2', '')",
     "holds 2 genomes (Mpusilla, Other); geenuff2h5 needs exactly one"),
    ("DELETE FROM genome", "holds 0 genomes"),
    ("DROP TABLE feature", "not a GeenuFF database (tables missing: feature)"),
])
def test_geenuff2h5_bad_database(micromonas_db, tmp_path, change, message):
    db = _copy_db(micromonas_db, tmp_path)
    con = sqlite3.connect(db)
    con.execute(change)
    con.commit()
    con.close()
    proc = run("geenuff2h5", "--db", db, "-o", tmp_path / "l.h5")
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "l.h5").exists()


def test_geenuff2h5_h5_with_sequences_missing_from_db_and_reverse(micromonas_db, tmp_path):
    db = _copy_db(micromonas_db, tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE coordinate SET seqid = 'renamed' WHERE seqid = 'NW_003315902.1'")
    con.commit()
    con.close()
    proc = run("geenuff2h5", "--db", db, "--h5", DATA / "micromonas/upstream_fasta.h5", "-o", tmp_path / "l.h5")
    assert proc.returncode == 1
    assert "sequence 'NW_003315902.1' (and 0 more) is not in the database" in proc.stderr
    fasta = tmp_path / "two.fa"
    with open(DATA / "micromonas/micromonas.fa") as f:
        text = f.read()
    fasta.write_text(">" + ">".join(text.split(">")[1:3]))  # only the two short scaffolds
    fasta_to_h5(fasta, tmp_path / "two.h5", "Mpusilla", progress=False)
    proc = run("geenuff2h5", "--db", micromonas_db, "--h5", tmp_path / "two.h5", "-o", tmp_path / "l.h5")
    assert proc.returncode == 1 and "database sequence 'NW_003315900.1' (and 0 more) is not in this h5 file" in proc.stderr
    assert not (tmp_path / "l.h5").exists()


def test_geenuff2h5_subsequence_length_and_species_mismatch(micromonas_db, tmp_path):
    proc = run("geenuff2h5", "--db", micromonas_db, "--h5", DATA / "micromonas/upstream_fasta.h5", "-l", "9000",
               "-o", tmp_path / "l.h5")
    assert proc.returncode == 1 and "subsequences are 21384 bp, but --subsequence-length 9000 was given" in proc.stderr
    fasta_to_h5(DATA / "micromonas/micromonas.fa", tmp_path / "other.h5", "Other", progress=False)
    proc = run("geenuff2h5", "--db", micromonas_db, "--h5", tmp_path / "other.h5", "-o", tmp_path / "l.h5")
    assert proc.returncode == 1 and "species Other differs from the database's 'Mpusilla'" in proc.stderr
    fasta_to_h5(DATA / "micromonas/micromonas.fa", tmp_path / "short.h5", "Mpusilla", subsequence_length=9000,
                progress=False)
    proc = run("geenuff2h5", "--db", micromonas_db, "--h5", tmp_path / "short.h5", "-o", tmp_path / "l.h5", "-q")
    assert proc.returncode == 0  # another subsequence length is fine when it is the h5's own
    proc = run("geenuff2h5", "--db", DATA / "micromonas/micromonas.fa", "-o", tmp_path / "x.h5")
    assert proc.returncode == 1 and "not a GeenuFF SQLite database" in proc.stderr


def test_short_sequences_labelled_together_equal_one_by_one(tmp_path):
    """A draft assembly's short contigs are labelled laid end to end in one call (issue 13): no label may
    differ from labelling each contig alone, above all no transition across the join, where genes touch
    their contig's ends on both strands and contig lengths are and are not whole rows."""
    cds = lambda n: "ATG" + "GCA" * (n // 3 - 2) + "TAA"  # noqa: E731
    contigs = {"c1": cds(27), "c2": "T" * 30, "c3": "ACGTACGT", "c4": cds(18), "c5": "GG" + cds(18)}
    fasta = tmp_path / "g.fa"
    fasta.write_text("".join(f">{k}\n{v}\n" for k, v in contigs.items()))
    genes = [("c1", 1, 27, "+", 1, 27), ("c2", 1, 30, "-", 4, 27), ("c4", 1, 18, "+", 1, 18),
             ("c5", 3, 20, "-", 3, 20)]
    body = "".join(f"{s}\tt\tgene\t{a}\t{b}\t.\t{st}\t.\tID=g{i}\n{s}\tt\tmRNA\t{a}\t{b}\t.\t{st}\t.\tID=t{i};Parent=g{i}\n"
                   f"{s}\tt\texon\t{a}\t{b}\t.\t{st}\t.\tParent=t{i}\n{s}\tt\tCDS\t{c}\t{d}\t.\t{st}\t0\tParent=t{i}\n"
                   for i, (s, a, b, st, c, d) in enumerate(genes))
    db = tmp_path / "o.sqlite3"
    proc = run("import2geenuff", "--gff3", _gff(tmp_path, body), "--fasta", fasta, "-s", "Sp", "-o", db,
               "--log", tmp_path / "o.log")
    assert proc.returncode == 0, proc.stderr
    geenuff_to_h5(db, tmp_path / "alone.h5", subsequence_length=9, progress=False, window_bp=9)
    geenuff_to_h5(db, tmp_path / "together.h5", subsequence_length=9, progress=False, window_bp=10**6)
    with h5py.File(tmp_path / "alone.h5") as a, h5py.File(tmp_path / "together.h5") as b:
        assert a["data/y"].shape == (2 * (3 + 4 + 1 + 2 + 3), 9, 4)
        for key in LABELS + ("X", "err_samples", "fully_intergenic_samples", "is_annotated"):
            assert np.array_equal(a[f"data/{key}"][:], b[f"data/{key}"][:]), key
        # inside contigs only: c2 CDS start and end, c5 transcript and CDS start; each change marks 2 bases
        assert a["data/transitions"][:].sum() == 8
