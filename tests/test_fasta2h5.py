"""helixer-fasta2h5: layout, upstream compatibility on real genomes, and user-facing behaviour."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import DATA, shared_path
from helixer_tools.cli.fasta2h5 import main
from helixer_tools.encoding import encode, encode_reverse_complement
from helixer_tools.fasta2h5 import fasta_to_h5
from helixer_tools.h5io import layout, start_ends

KEYS = ("data/X", "data/seqids", "data/species", "data/start_ends")


def assert_same_as_upstream(ours, upstream):
    with h5py.File(ours, "r") as a, h5py.File(upstream, "r") as b:
        assert sorted(a["data"]) == sorted(b["data"])
        for key in KEYS:
            assert a[key].shape == b[key].shape, key
            assert a[key].dtype == b[key].dtype, key
            assert a[key].chunks == b[key].chunks, key
            assert a[key].maxshape == b[key].maxshape, key
            assert a[key].shuffle == b[key].shuffle, key
            for i in range(0, a[key].shape[0], 64):  # byte-equal, a few rows at a time
                assert a[key][i:i + 64].tobytes() == b[key][i:i + 64].tobytes(), (key, i)


def test_start_ends_example_from_the_notes():
    # len 51321, L 21384: [0,21384] [21384,42768] [42768,51321] | [51321,42768] [42768,21384] [21384,0]
    seqs = layout([("a", 51321)], 21384)
    assert start_ends(seqs, 21384).tolist() == [[0, 21384], [21384, 42768], [42768, 51321],
                                                [51321, 42768], [42768, 21384], [21384, 0]]
    s = seqs[0]
    assert [s.plus_row(k) for k in range(3)] == [0, 1, 2]
    assert [s.minus_row(k) for k in range(3)] == [5, 4, 3]


def test_rows_padding_and_strands(tmp_path):
    fasta = tmp_path / "g.fa"
    seq_a, seq_b = "ACGTTGCAAC" * 2 + "G", "NNRYACGTC"  # 21 bp, 9 bp
    fasta.write_text(f">a\n{seq_a}\n>b\n{seq_b}\n")
    out = tmp_path / "g.h5"
    assert fasta_to_h5(fasta, out, "sp", subsequence_length=9, progress=False) == 2 * 3 + 2
    with h5py.File(out, "r") as f:
        X = f["data/X"][:]
        assert f["data/seqids"][:].tolist() == [b"a"] * 6 + [b"b"] * 2
        assert f["data/species"][:].tolist() == [b"sp"] * 8
        assert f["data/start_ends"][:].tolist() == [[0, 9], [9, 18], [18, 21], [21, 18], [18, 9], [9, 0],
                                                    [0, 9], [9, 0]]
    raw = seq_a.encode()
    assert np.array_equal(X[2], encode(raw[18:], 9))                     # short plus chunk: padding at end
    assert not X[2][3:].any()
    assert np.array_equal(X[3], encode_reverse_complement(raw[18:], 9))  # short minus chunk: padding at end
    assert not X[3][3:].any()
    assert np.array_equal(X[5], encode_reverse_complement(raw[:9], 9))   # last minus row = first bases
    assert np.array_equal(X[6], encode(seq_b.encode(), 9))


def test_threads_and_lzf_give_the_same_arrays(tmp_path):
    fasta = DATA / "micromonas/micromonas.fa"
    fasta_to_h5(fasta, tmp_path / "a.h5", "Mpusilla", threads=1, progress=False)
    fasta_to_h5(fasta, tmp_path / "b.h5", "Mpusilla", threads=3, compression="lzf", progress=False)
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        assert b["data/X"].compression == "lzf" and a["data/X"].compression == "gzip"
        assert a["data/X"].compression_opts == 4
        assert np.array_equal(a["data/X"][:], b["data/X"][:])


# ---------------------------------------------------------------- compatibility with upstream


def test_byte_equal_to_upstream_micromonas(tmp_path):
    out = tmp_path / "m.h5"
    fasta_to_h5(DATA / "micromonas/micromonas.fa", out, "Mpusilla", threads=2, progress=False)
    assert_same_as_upstream(out, DATA / "micromonas/upstream_fasta.h5")


def test_byte_equal_to_upstream_athaliana_1M_softmasked_gzip(tmp_path):
    out = tmp_path / "at.h5"
    fasta_to_h5(DATA / "athaliana_1M/chr1_1M.fa.gz", out, "Athaliana", threads=2, progress=False)
    assert_same_as_upstream(out, DATA / "athaliana_1M/upstream_fasta.h5")


def test_byte_equal_to_upstream_iupac_codes_and_other_length(tmp_path):
    out = tmp_path / "iupac.h5"
    fasta_to_h5(DATA / "iupac/iupac.fa.gz", out, "Test_species", subsequence_length=450, progress=False)
    assert_same_as_upstream(out, DATA / "iupac/upstream_450.h5")
    with h5py.File(out) as f:  # the fixture really exercises the ambiguity codes
        assert set(np.unique(f["data/X"][:])) >= {np.float16(0.25), np.float16(0.33), np.float16(0.5)}


@pytest.mark.upstream
def test_byte_equal_to_shared_upstream_fixture(tmp_path):
    upstream = shared_path("upstream_fixtures", "micromonas", "fasta.h5")
    fasta = shared_path("data", "micromonas", "micromonas.fa")
    out = tmp_path / "m.h5"
    assert main(["-f", str(fasta), "-s", "Mpusilla", "-o", str(out), "-q", "--threads", "2"]) == 0
    assert_same_as_upstream(out, upstream)


# ---------------------------------------------------------------- command line


def run_cli(tmp_path, *args):
    out = tmp_path / "out.h5"
    proc = subprocess.run([sys.executable, "-m", "helixer_tools.cli.fasta2h5", *args, "-o", str(out)],
                          capture_output=True, text=True)
    return proc, out


def test_cli_writes_provenance(tmp_path):
    fasta = DATA / "iupac/iupac.fa.gz"
    proc, out = run_cli(tmp_path, "--fasta", str(fasta), "--species", "Sp", "-l", "450", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    with h5py.File(out) as f:
        assert f.attrs["helixer_tools_tool"] == "helixer-fasta2h5"
        assert json.loads(f.attrs["helixer_tools_inputs"]) == {"fasta": str(fasta)}
        assert "--species" in json.loads(f.attrs["helixer_tools_argv"])
        assert f.attrs["input_path"] == str(fasta)
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left


def test_cli_upstream_option_names_still_work(tmp_path):
    out = tmp_path / "x.h5"
    assert main(["--fasta-path", str(DATA / "iupac/iupac.fa.gz"), "--species", "Sp",
                 "--h5-output-path", str(out), "--subsequence-length", "900", "-q"]) == 0
    with h5py.File(out) as f:
        assert f["data/X"].shape[1] == 900


@pytest.mark.parametrize("fasta_text,message", [
    (">a\nACGT\n>a\nACGT\n", "duplicate sequence id 'a' (records 1 and 2)"),
    (">a\nACGT\n>b\n", "record 2 (b) has an empty sequence"),
    (">a\nACXT\n", "record 1 (a), position 3: character 'X' is not an IUPAC nucleotide code"),
    (f">{'s' * 60}\nACGT\n", f"1 sequence id(s) are longer than the 50 characters the h5 format holds ({'s' * 60}); give --rename-map"),
    ("hello world\n", "not a FASTA file"),
])
def test_cli_bad_input_one_line_exit_1_no_output(tmp_path, fasta_text, message):
    fasta = tmp_path / "in.fa"
    fasta.write_text(fasta_text)
    proc, out = run_cli(tmp_path, "-f", str(fasta), "-s", "Sp")
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert err[-1].startswith("helixer-fasta2h5: error: ") and message in err[-1], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"]


def test_cli_refuses_subsequence_length_not_multiple_of_9(tmp_path):
    proc, out = run_cli(tmp_path, "-f", str(DATA / "iupac/iupac.fa.gz"), "-s", "Sp", "-l", "1000")
    assert proc.returncode == 2
    assert "subsequence length 1000 is not a positive multiple of 9" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_cli_refuses_species_longer_than_25(tmp_path):
    proc, out = run_cli(tmp_path, "-f", str(DATA / "iupac/iupac.fa.gz"), "-s", "S" * 26)
    assert proc.returncode == 1
    assert "species 'SSSSSSSSSSSSSSSSSSSSSSSSSS' is 26 characters, longer than the 25" in proc.stderr
    assert not out.exists()


def test_cli_missing_input_file(tmp_path):
    proc, out = run_cli(tmp_path, "-f", str(tmp_path / "missing.fa"), "-s", "Sp")
    assert proc.returncode == 1 and "missing.fa: cannot open: No such file or directory" in proc.stderr


def test_failure_while_writing_leaves_no_output(tmp_path, monkeypatch):
    import helixer_tools.fasta2h5 as mod

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mod, "encode_reverse_complement", boom)
    out = tmp_path / "o.h5"
    with pytest.raises(RuntimeError):
        fasta_to_h5(DATA / "iupac/iupac.fa.gz", out, "Sp", subsequence_length=450, threads=2, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_progress_lines_when_not_a_terminal(caplog):
    import helixer_tools.progress as progress

    caplog.set_level("INFO", logger="helixer_tools")
    with progress.Progress(100, "work", every_s=0.0) as bar:
        bar.update(40)
        bar.update(60)
    text = caplog.text
    assert "work: 40.0% (40 of 100 bp)" in text and "work: done, 100 bp" in text


def test_version_and_help():
    from helixer_tools import __version__

    proc = subprocess.run([sys.executable, "-m", "helixer_tools.cli.fasta2h5", "--version"], capture_output=True, text=True)
    assert proc.stdout.strip() == f"helixer-fasta2h5 {__version__}"
    proc = subprocess.run([sys.executable, "-m", "helixer_tools.cli.fasta2h5", "--help"], capture_output=True, text=True)
    assert "multiple of 9" in proc.stdout and "(default: 21384)" in proc.stdout


def test_a_draft_assembly_is_told_a_fitting_subsequence_length(tmp_path, caplog):
    """Rows of short contigs are mostly padding, and every later step costs by rows."""
    fasta = tmp_path / "draft.fa"
    fasta.write_text("".join(f">ctg{i}\n{'ACGT' * 125}\n" for i in range(20)))  # 20 contigs of 500 bp
    fasta_to_h5(fasta, tmp_path / "d.h5", "Sp", progress=False)
    warning = next(r.message for r in caplog.records if r.levelname == "WARNING")
    assert "98% of the h5 is padding" in warning and "--subsequence-length 504" in warning
    assert "would store 42.4x less" in warning  # 20 x 21384 against 20 x 504
    caplog.clear()
    fasta_to_h5(fasta, tmp_path / "d504.h5", "Sp", subsequence_length=504, progress=False)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
