"""helixer-add-coverage: equal to upstream, strandedness, appending, BAM identity, clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pysam
import pytest

from conftest import DATA
from helixer_tools.add_coverage import add_coverage
from helixer_tools.bam import BgzfReader, inspect, iter_alignments, read_bai, skip_header
from helixer_tools.errors import UserError
from helixer_tools.fasta2h5 import fasta_to_h5

BAM = DATA / "micromonas/micromonas.rnaseq.bam"
COV = ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage")


@pytest.fixture(scope="module")
def genome_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "micromonas.h5"
    fasta_to_h5(DATA / "micromonas/micromonas.fa", path, "Mpusilla", progress=False)
    return path


def joined(ours, upstream):
    key = {(s, a, b): i for i, (s, (a, b)) in enumerate(zip(ours["data/seqids"][:], ours["data/start_ends"][:].tolist()))}
    return [key[(s, a, b)] for s, (a, b) in zip(upstream["data/seqids"][:], upstream["data/start_ends"][:].tolist())]


@pytest.mark.parametrize("threads,region_bp", [(1, 4_000_000), (2, 50_000), (3, 21384)])
def test_equal_to_upstream_micromonas(genome_h5, tmp_path, threads, region_bp):
    out = tmp_path / "cov.h5"
    cols = add_coverage(genome_h5, [BAM], out, "second", threads=threads, progress=False, region_bp=region_bp)
    assert cols[0].reads == int(pysam.samtools.view("-c", "-F", "0x304", str(BAM)))
    with h5py.File(out) as ours, h5py.File(DATA / "micromonas/upstream_coverage_only.h5") as up:
        order = joined(ours, up)  # our input is in FASTA order, upstream's in length order
        for key in COV:
            assert ours[key].shape == up[key].shape and ours[key].chunks == (1, 21384, 1)
            assert np.array_equal(ours[key][:][order], up[key][:]), key
        assert ours[COV[0]].fillvalue == -1
        with h5py.File(genome_h5) as src:
            assert ours["data/X"][:].tobytes() == src["data/X"][:].tobytes()


def test_equal_to_upstream_athaliana_1M(tmp_path):
    bam = DATA / "athaliana_1M/chr1_1M.rnaseq.bam"
    h5 = tmp_path / "at.h5"
    fasta_to_h5(DATA / "athaliana_1M/chr1_1M.fa.gz", h5, "Athaliana", progress=False)
    add_coverage(h5, [bam], tmp_path / "cov.h5", "second", threads=2, progress=False, region_bp=200_000)
    with h5py.File(tmp_path / "cov.h5") as ours, h5py.File(DATA / "athaliana_1M/upstream_coverage_only.h5") as up:
        order = joined(ours, up)
        for key in COV:
            assert np.array_equal(ours[key][:][order], up[key][:]), key


def _subsample(tmp_path, every=2, name="half.bam"):
    out = tmp_path / name
    with pysam.AlignmentFile(BAM) as src, pysam.AlignmentFile(out, "wb", template=src) as dst:
        for i, read in enumerate(src.fetch(until_eof=True)):
            if i % every == 0:
                dst.write(read)
    pysam.index(str(out))
    return out


def test_append_columns_and_record_bam_identity(genome_h5, tmp_path):
    first = tmp_path / "one.h5"
    add_coverage(genome_h5, [BAM], first, "second", progress=False)
    half = _subsample(tmp_path)
    both = tmp_path / "two.h5"
    cols = add_coverage(first, [half], both, "unstranded", threads=2, progress=False)
    alone = tmp_path / "alone.h5"
    add_coverage(genome_h5, [half], alone, "unstranded", progress=False)
    with h5py.File(first) as a, h5py.File(both) as b, h5py.File(alone) as c:
        for key in COV:
            assert b[key].shape[2] == 2
            assert np.array_equal(b[key][:, :, 0], a[key][:, :, 0])
            assert np.array_equal(b[key][:, :, 1], c[key][:, :, 0])
        described = json.loads(b[COV[0]].attrs["helixer_tools_columns"])
        assert [d["name"] for d in described] == ["micromonas.rnaseq.bam", "half.bam"]
        assert [d["strandedness"] for d in described] == ["second", "unstranded"]
        assert described[1]["size"] == half.stat().st_size and len(described[1]["header_md5"]) == 32
        assert b["evaluation/rnaseq_meta/bam_files"][:].tolist() == [str(BAM).encode(), str(half).encode()]
    assert [c.name for c in cols] == ["micromonas.rnaseq.bam", "half.bam"]


def test_append_to_upstream_coverage_file(tmp_path):
    half = _subsample(tmp_path, every=3)
    up = DATA / "micromonas/upstream_coverage_only.h5"
    src = tmp_path / "up_with_x.h5"
    fasta_to_h5(DATA / "micromonas/micromonas.fa", src, "Mpusilla", progress=False)
    # make an upstream-style file (its rows, its int64 coverage, no descriptions) with X
    with h5py.File(up) as u, h5py.File(src, "a") as f:
        order = joined(f, u)
        for key in COV:
            arr = np.full(u[key].shape, -1, dtype=np.int64)
            arr[order] = u[key][:]
            f.create_dataset(key, data=arr, chunks=(1, arr.shape[1], 1), maxshape=(None, arr.shape[1], None),
                             compression="lzf", fillvalue=-1)
        f.create_dataset("evaluation/rnaseq_meta/bam_files", data=np.array([b"/somewhere/micromonas.rnaseq.bam"], "S512"))
    cols = add_coverage(src, [half], tmp_path / "out.h5", "second", progress=False)
    assert [c.path for c in cols] == ["/somewhere/micromonas.rnaseq.bam", str(half)]
    with h5py.File(tmp_path / "out.h5") as f:
        assert f[COV[0]].shape[2] == 2 and f[COV[0]].dtype == np.int64  # the old columns' storage is kept


def test_append_to_coverage_chunked_otherwise(genome_h5, tmp_path):
    first = tmp_path / "one.h5"
    add_coverage(genome_h5, [BAM], first, "second", progress=False)
    odd = tmp_path / "odd.h5"
    with h5py.File(first) as src, h5py.File(odd, "w") as dst:
        for key in ("data/X", "data/seqids", "data/species", "data/start_ends"):
            src.copy(src[key], dst, key)
        for key in COV:
            dst.create_dataset(key, data=src[key][:], chunks=(4, 1000, 1), maxshape=(None, None, None),
                               compression="gzip", fillvalue=-1)
    half = _subsample(tmp_path)
    add_coverage(odd, [half], tmp_path / "two.h5", "second", progress=False)
    add_coverage(genome_h5, [half], tmp_path / "alone.h5", "second", progress=False)
    with h5py.File(tmp_path / "two.h5") as two, h5py.File(first) as a, h5py.File(tmp_path / "alone.h5") as b:
        for key in COV:
            assert np.array_equal(two[key][:, :, 0], a[key][:, :, 0])
            assert np.array_equal(two[key][:, :, 1], b[key][:, :, 0])


def test_strand_check_warns_on_the_wrong_strandedness(tmp_path, caplog):
    labels = tmp_path / "labels.h5"
    from helixer_tools.geenuff2h5 import geenuff_to_h5
    import gzip
    db = tmp_path / "db.sqlite3"
    with gzip.open(DATA / "micromonas/upstream_geenuff.sqlite3.gz") as f:
        db.write_bytes(f.read())
    geenuff_to_h5(db, labels, progress=False)
    caplog.set_level("INFO", logger="helixer_tools")
    right = add_coverage(labels, [BAM], tmp_path / "right.h5", "second", progress=False)
    assert right[0].sense_fraction > 0.95
    assert "WARNING" not in caplog.text
    wrong = add_coverage(labels, [BAM], tmp_path / "wrong.h5", "first", progress=False)
    assert wrong[0].sense_fraction < 0.05
    assert "the library looks like --second-read-is-sense-strand" in caplog.text
    with h5py.File(tmp_path / "wrong.h5") as f:
        assert json.loads(f[COV[0]].attrs["helixer_tools_columns"])[0]["sense_fraction"] < 0.05


def test_strandedness_moves_coverage_between_strands(genome_h5, tmp_path):
    add_coverage(genome_h5, [BAM], tmp_path / "s.h5", "second", progress=False)
    add_coverage(genome_h5, [BAM], tmp_path / "f.h5", "first", progress=False)
    with h5py.File(tmp_path / "s.h5") as s, h5py.File(tmp_path / "f.h5") as f, h5py.File(genome_h5) as g:
        se = g["data/start_ends"][:]
        plus, minus = np.flatnonzero(se[:, 0] < se[:, 1]), np.flatnonzero(se[:, 0] > se[:, 1])
        # the same reads, on the other strand: total plus coverage of one is the minus total of the other
        total = lambda d, rows: int(np.clip(d[COV[0]][:][rows], 0, None).sum())
        assert total(s, plus) == total(f, minus) and total(s, minus) == total(f, plus)
        assert total(s, plus) > 0 and total(s, minus) > 0


def test_decoder_agrees_with_pysam():
    info = inspect(BAM)
    reader = BgzfReader(str(BAM))
    records = list(iter_alignments(reader, skip_header(reader)))
    reader.close()
    pos = np.concatenate([r.pos for r in records])
    flags = np.concatenate([r.flag for r in records])
    with pysam.AlignmentFile(BAM) as bam:
        reads = list(bam.fetch(until_eof=True))
    assert len(pos) == len(reads)
    assert pos.tolist() == [r.reference_start for r in reads]
    assert flags.tolist() == [r.flag for r in reads]
    first = records[0]
    blocks = [(s, s + n) for o, s, n in zip(first.op, first.op_start, first.op_len) if o in (0, 7, 8)][:5]
    assert blocks == [b for r in reads for b in r.get_blocks()][:5]
    assert len(read_bai(info.index, info.path, len(info.references))) == 3


# ---------------------------------------------------------------- errors


def run(*args):
    return subprocess.run([sys.executable, "-m", "helixer_tools.cli.add_coverage", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_default_prefix_rnaseq_and_strandedness_required(genome_h5, tmp_path):
    proc = run("--h5", genome_h5, "--bam", BAM, "-o", tmp_path / "o.h5")
    assert proc.returncode == 2 and "one of the arguments --second-read-is-sense-strand" in proc.stderr
    proc = run("--h5", genome_h5, "--bam", BAM, "-o", tmp_path / "o.h5", "--second-read-is-sense-strand", "-q", "-t", "2")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "o.h5") as f:
        assert set(f["evaluation"]) == {"rnaseq_coverage", "rnaseq_spliced_coverage", "rnaseq_meta"}
        assert f.attrs["helixer_tools_tool"] == "helixer-add-coverage"


def test_input_is_not_modified(genome_h5, tmp_path):
    before = genome_h5.read_bytes()
    assert run("--h5", genome_h5, "--bam", BAM, "-o", tmp_path / "o.h5", "--unstranded", "-q").returncode == 0
    assert genome_h5.read_bytes() == before


def _unsorted(tmp_path):
    out = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(BAM) as src:
        header = src.header.to_dict()
        header["HD"]["SO"] = "unsorted"
        with pysam.AlignmentFile(out, "wb", header=header) as dst:
            for read in src.fetch(until_eof=True):
                dst.write(pysam.AlignedSegment.fromstring(read.to_string(), dst.header))
    return out


def test_bad_bams(genome_h5, tmp_path):
    no_index = tmp_path / "noindex.bam"
    shutil.copy(BAM, no_index)
    cases = [
        ((no_index,), "noindex.bam: no index"),
        ((_unsorted(tmp_path),), "not sorted by coordinate (header says SO:unsorted); run samtools sort"),
        ((BAM, BAM), "the same BAM as"),
        ((DATA / "micromonas/micromonas.fa",), "micromonas.fa: not a BAM file"),
        ((tmp_path / "missing.bam",), "missing.bam: no such file"),
    ]
    for bams, message in cases:
        proc = run("--h5", genome_h5, "--bam", *bams, "-o", tmp_path / "o.h5", "--unstranded")
        assert proc.returncode == 1 and message in proc.stderr, (message, proc.stderr)
        assert "Traceback" not in proc.stderr and not (tmp_path / "o.h5").exists()


def test_contig_length_and_species_mismatch(tmp_path):
    fasta = tmp_path / "short.fa"
    text = (DATA / "micromonas/micromonas.fa").read_text().split(">")
    records = [">" + r for r in text[1:]]
    records[0] = records[0][:-200] + "\n"  # NW_003315902.1 made shorter than in the BAM
    fasta.write_text("".join(records))
    fasta_to_h5(fasta, tmp_path / "short.h5", "Mpusilla", progress=False)
    proc = run("--h5", tmp_path / "short.h5", "--bam", BAM, "-o", tmp_path / "o.h5", "--unstranded")
    assert proc.returncode == 1
    assert "contig NW_003315902.1 is 5431 bp, but" in proc.stderr
    fasta_to_h5(DATA / "micromonas/micromonas.fa", tmp_path / "m.h5", "Mpusilla", progress=False)
    proc = run("--h5", tmp_path / "m.h5", "--bam", BAM, "-o", tmp_path / "o.h5", "--unstranded", "--species", "Other")
    assert proc.returncode == 1 and "holds species Mpusilla, not 'Other'" in proc.stderr
    with pytest.raises(UserError, match="dataset prefix"):
        add_coverage(tmp_path / "m.h5", [BAM], tmp_path / "o.h5", "second", prefix="a/b")
