"""helixer-add-coverage: equal to upstream, strandedness, appending, BAM identity, clear errors."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pysam
import pytest

from conftest import DATA
from helixer_tools.add_coverage import add_coverage
from helixer_tools.bam import BgzfReader, inspect, iter_alignments, read_index, skip_header
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


@pytest.mark.parametrize("min_shift", [14, 11])
def test_csi_index_gives_the_same_coverage(genome_h5, tmp_path, min_shift):
    """A CSI index (samtools index -c; -m sets its finest bin) finds the same alignments as the BAI."""
    bam = tmp_path / "csi.bam"
    shutil.copy(BAM, bam)
    pysam.index("-c", "-m", str(min_shift), str(bam))
    assert not (tmp_path / "csi.bam.bai").exists() and inspect(bam).index.endswith(".csi")
    add_coverage(genome_h5, [bam], tmp_path / "csi.h5", "second", threads=2, progress=False, region_bp=30_000)
    with h5py.File(tmp_path / "csi.h5") as ours, h5py.File(DATA / "micromonas/upstream_coverage_only.h5") as up:
        order = joined(ours, up)
        for key in COV:
            assert np.array_equal(ours[key][:][order], up[key][:]), key


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
    assert len(read_index(info.index, info.path, info.lengths).offsets) == 3


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
    assert "1 contig(s) have other lengths than in" in proc.stderr and "(NW_003315902.1 5431 vs 5235 bp)" in proc.stderr
    fasta_to_h5(DATA / "micromonas/micromonas.fa", tmp_path / "m.h5", "Mpusilla", progress=False)
    proc = run("--h5", tmp_path / "m.h5", "--bam", BAM, "-o", tmp_path / "o.h5", "--unstranded", "--species", "Other")
    assert proc.returncode == 1 and "holds species Mpusilla, not 'Other'" in proc.stderr
    with pytest.raises(UserError, match="dataset prefix"):
        add_coverage(tmp_path / "m.h5", [BAM], tmp_path / "o.h5", "second", prefix="a/b")


def test_chromosome_over_2_29_bp_with_a_csi_index(tmp_path):
    """Wheat-, barley- and conifer-sized chromosomes cannot have a BAI index (positions stop at 2^29): a CSI
    index reaches them. A 537 Mbp sequence of N (its h5 compresses to little) with spliced reads past 2^29."""
    big = (1 << 29) + 100_000
    fasta = tmp_path / "big.fa.gz"
    with gzip.open(fasta, "wb", compresslevel=1) as f:
        f.write(b">big\n" + (b"N" * 100 + b"\n") * (big // 100) + b"N" * (big % 100) + b"\n")
        f.write(b">small\n" + b"ACGT" * 1000 + b"\n")
    h5 = tmp_path / "big.h5"
    fasta_to_h5(fasta, h5, "Big", threads=2, progress=False)
    bam = tmp_path / "reads.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "big", "LN": big}, {"SN": "small", "LN": 4000}]}
    starts = [1000, (1 << 29) + 5_000, (1 << 29) + 5_050, (1 << 29) + 90_000]
    with pysam.AlignmentFile(bam, "wb", header=header) as out:
        for i, pos in enumerate(starts):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.reference_id, read.reference_start, read.flag = f"r{i}", 0, pos, 0
            read.cigarstring = "50M1000N50M"
            read.query_sequence, read.query_qualities = "A" * 100, pysam.qualitystring_to_array("I" * 100)
            out.write(read)
    pysam.index("-c", str(bam))
    cols = add_coverage(h5, [bam], tmp_path / "cov.h5", "unstranded", threads=2, progress=False)
    assert cols[0].reads == 4
    lo, hi = 1 << 29, big  # compare everything past 2^29, base by base
    expected = np.zeros((2, hi - lo), dtype=np.int64)
    for pos in starts[1:]:
        for a, b in ((pos, pos + 50), (pos + 1050, pos + 1100)):
            expected[0, a - lo: b - lo] += 1
        expected[1, pos + 50 - lo: pos + 1050 - lo] += 1
    with h5py.File(tmp_path / "cov.h5") as f:
        L = f["data/X"].shape[1]
        se, seqids = f["data/start_ends"][:], f["data/seqids"][:]
        rows = sorted((int(a), i) for i, (a, b) in enumerate(se) if a < b and seqids[i] == b"big" and b > lo)
        for k, key in enumerate(COV):
            found = np.concatenate([f[key][i, :, 0] for _, i in rows])[lo - rows[0][0]: hi - rows[0][0]]
            assert np.array_equal(found, expected[k]), key
        first = int(se[0][0]) // L  # the read before 2^29 is there too
        assert int(f[COV[0]][0, 1000:1050, 0].sum()) == 50 and first == 0


# ---------------------------------------------------------------- long reads


def _by_strand(h5: Path, seqid: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and spliced coverage of one sequence as (2, length) arrays, plus strand then minus strand."""
    cov, spl = np.zeros((2, length), np.int64), np.zeros((2, length), np.int64)
    with h5py.File(h5) as f:
        for i, (a, b) in enumerate(f["data/start_ends"][:]):
            if f["data/seqids"][i].decode() != seqid:
                continue
            for out, key in ((cov, COV[0]), (spl, COV[1])):
                row = f[key][i, :, 0]
                if a < b:
                    out[0, a:b] = row[: b - a]
                else:  # minus-strand rows run 5'->3' on the minus strand
                    out[1, b:a] = row[: a - b][::-1]
    return cov, spl


def _expected(bam: Path, seqid: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The same from pysam, independently: aligned blocks (M, =, X) and skips (N, D) of every primary, mapped
    read, on the strand it aligned to (single reads whose sequence is the transcript's: --first-read-is-sense)."""
    cov, spl = np.zeros((2, length), np.int64), np.zeros((2, length), np.int64)
    with pysam.AlignmentFile(bam) as f:
        for read in f.fetch(seqid):
            if read.is_unmapped or read.is_secondary or read.is_qcfail:
                continue
            strand, pos = int(read.is_reverse), read.reference_start
            for op, n in read.cigartuples:
                if op in (0, 7, 8):
                    cov[strand, pos: pos + n] += 1
                elif op in (2, 3):
                    spl[strand, pos: pos + n] += 1
                pos += n if op in (0, 2, 3, 7, 8) else 0
    return cov, spl


def test_cigar_of_more_than_65535_operations_from_the_cg_tag(tmp_path):
    """BAM keeps at most 65,535 CIGAR operations in the record; longer ones (long reads) go to the CG tag and
    the record holds a placeholder (kSmN) that would count as one long skip."""
    fasta = tmp_path / "c.fa"
    fasta.write_text(">c\n" + "ACGT" * 50_000 + "\n")
    h5 = tmp_path / "c.h5"
    fasta_to_h5(fasta, h5, "Sp", progress=False)
    bam = tmp_path / "long.bam"
    with pysam.AlignmentFile(bam, "wb", header={"HD": {"VN": "1.6", "SO": "coordinate"},
                                                "SQ": [{"SN": "c", "LN": 200_000}]}) as out:
        read = pysam.AlignedSegment(out.header)
        read.query_name, read.reference_id, read.reference_start, read.flag = "long", 0, 100, 16
        read.cigartuples = [(0, 2), (2, 1)] * 30_000 + [(3, 5_000)] + [(0, 3), (1, 1)] * 10_000  # 80,001 ops
        read.query_sequence = "A" * (2 * 30_000 + 4 * 10_000)
        out.write(read)
    pysam.index(str(bam))
    reader = BgzfReader(str(bam))
    assert np.frombuffer(skip_header(reader)[:36], dtype="<u2")[8] == 2  # the record holds the placeholder
    reader.close()
    add_coverage(h5, [bam], tmp_path / "cov.h5", "first", progress=False)
    cov, spl = _by_strand(tmp_path / "cov.h5", "c", 200_000)
    exp_cov, exp_spl = _expected(bam, "c", 200_000)
    assert np.array_equal(cov, exp_cov) and np.array_equal(spl, exp_spl)
    assert cov[1].sum() == 2 * 30_000 + 3 * 10_000 and spl[1].sum() == 30_000 + 5_000  # minus strand only


@pytest.mark.skipif(not shutil.which("minimap2"), reason="minimap2 (Debian minimap2; scripts/setup.sh --all)")
def test_long_reads_aligned_with_minimap2_splice(tmp_path):
    """Iso-Seq / ONT-like reads: whole transcripts of the Micromonas gene models on both strands, with a few
    errors, aligned with minimap2 -ax splice. Spliced coverage must follow their introns exactly."""
    import gzip as gz
    import random

    rng = random.Random(1)
    genome = {}
    for line in (DATA / "micromonas/micromonas.fa").read_text().split(">")[1:]:
        name, _, seq = line.partition("\n")
        genome[name.split()[0]] = seq.replace("\n", "")
    exons: dict[str, list] = {}
    strand_of, seq_of = {}, {}
    with gz.open(DATA / "micromonas/micromonas.gff3.gz", "rt") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 9 and cols[2] == "exon":
                parent = dict(kv.split("=", 1) for kv in cols[8].split(";") if "=" in kv)["Parent"]
                exons.setdefault(parent, []).append((int(cols[3]) - 1, int(cols[4])))
                strand_of[parent], seq_of[parent] = cols[6], cols[0]
    complement = str.maketrans("ACGTN", "TGCAN")
    reads = []
    for t, blocks in sorted(exons.items()):
        if len(blocks) < 2 or sum(b - a for a, b in blocks) < 500:
            continue  # spliced transcripts long enough to align
        seq = "".join(genome[seq_of[t]][a:b] for a, b in sorted(blocks)).upper()
        if strand_of[t] == "-":
            seq = seq.translate(complement)[::-1]
        seq = "".join(rng.choice("ACGT") if rng.random() < 0.01 else c for c in seq)  # 1 % substitutions
        reads.append(f">{t}\n{seq}\n")
    assert len(reads) >= 10
    (tmp_path / "reads.fa").write_text("".join(reads))
    sam = subprocess.run(["minimap2", "-ax", "splice", "--secondary=no", "-t", "2",
                          str(DATA / "micromonas/micromonas.fa"), str(tmp_path / "reads.fa")],
                         capture_output=True, text=True, check=True).stdout
    (tmp_path / "reads.sam").write_text(sam)
    bam = tmp_path / "reads.bam"
    pysam.sort("-o", str(bam), str(tmp_path / "reads.sam"))
    pysam.index(str(bam))
    h5 = tmp_path / "g.h5"
    fasta_to_h5(DATA / "micromonas/micromonas.fa", h5, "Mpusilla", progress=False)
    add_coverage(h5, [bam], tmp_path / "cov.h5", "first", progress=False)
    spliced_bases = 0
    for seqid, seq in genome.items():
        cov, spl = _by_strand(tmp_path / "cov.h5", seqid, len(seq))
        exp_cov, exp_spl = _expected(bam, seqid, len(seq))
        assert np.array_equal(cov, exp_cov) and np.array_equal(spl, exp_spl), seqid
        spliced_bases += int(spl.sum())
    assert spliced_bases > 1000  # introns were found, on both strands


# ---------------------------------------------------------------- draft assemblies


def test_short_contigs_counted_together(tmp_path, monkeypatch):
    """A draft assembly's short contigs are counted in one pass per group (issue 13): each contig's coverage
    must be what pysam says, with reads running past a contig's end clipped there (not spilling into the
    next contig), a BAM reference the genome lacks skipped, secondary and unmapped records left out."""
    import random

    import helixer_tools.add_coverage as ac

    rng = random.Random(3)
    lengths = {"a": 100, "b": 37, "c": 80, "d": 64, "e": 10, "f": 250}  # c: in the BAM only
    seqs = {n: "".join(rng.choice("ACGT") for _ in range(n_bp)) for n, n_bp in lengths.items()}
    (tmp_path / "g.fa").write_text("".join(f">{n}\n{s}\n" for n, s in seqs.items() if n != "c"))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": k} for n, k in lengths.items()]}
    cigars = ["12M", "5M20N7M", "6M3D6M", "4S10M", "8M4I8M"]
    records = []
    for ref, (name, n_bp) in enumerate(lengths.items()):
        for i in range(40):
            pos = rng.randrange(0, n_bp)  # many start near the end and run past it
            records.append((ref, pos, rng.choice(cigars), rng.choice([0, 16, 0, 16, 256])))
    records.sort()
    bam = tmp_path / "r.bam"
    with pysam.AlignmentFile(bam, "wb", header=header) as out:
        for i, (ref, pos, cigar, flag) in enumerate(records):
            r = pysam.AlignedSegment(out.header)
            r.query_name, r.flag, r.reference_id, r.reference_start = f"r{i}", flag, ref, pos
            r.cigarstring, r.mapping_quality = cigar, 60
            r.query_sequence = "A" * sum(n for op, n in r.cigartuples if op in (0, 1, 4, 7, 8))
            out.write(r)
        r = pysam.AlignedSegment(out.header)
        r.query_name, r.flag, r.query_sequence = "unplaced", 4, "ACGT"
        out.write(r)
    pysam.index(str(bam))
    h5 = tmp_path / "g.h5"
    fasta_to_h5(tmp_path / "g.fa", h5, "Sp", subsequence_length=27, progress=False)
    groups = []
    original = ac.count_sequences
    monkeypatch.setattr(ac, "count_sequences", lambda *a, **k: groups.append(a[3]) or original(*a, **k))
    add_coverage(h5, [bam], tmp_path / "cov.h5", "first", progress=False)
    assert groups == [[100, 37], [64, 10, 250]]  # consecutive in the BAM, split where c is missing
    for name, n_bp in lengths.items():
        if name != "c":
            cov, spl = _by_strand(tmp_path / "cov.h5", name, n_bp)
            exp_cov, exp_spl = _expected(bam, name, n_bp)
            assert np.array_equal(cov, exp_cov) and np.array_equal(spl, exp_spl), name
            assert cov.sum() > 0 and spl.sum() > 0
