"""Scatter and gather of the pipeline's annotate route (helixer_tools.chunks): a genome as files of whole
sequences, and the files' GFF3s gathered into the GFF3 that one task over the whole genome writes."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from helixer_tools.gff import END_MARK, END_NOTE

from conftest import ROOT

DATA = ROOT / "tests" / "data"
CHUNKS = [sys.executable, "-m", "helixer_tools.cli.chunks"]


def _fasta(path: Path, records: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as fh:
        for name, seq in records.items():
            fh.write(f">{name} some description\n")
            fh.writelines(seq[i:i + width] + "\n" for i in range(0, len(seq), width))
    return path


def test_scatter_groups_whole_sequences_in_order(tmp_path):
    from helixer_tools.chunks import scatter_fasta

    fa = _fasta(tmp_path / "g.fa", {"a": "A" * 30, "b": "C" * 50, "c": "G" * 200, "d": "T" * 10, "e": "N" * 5})
    groups = scatter_fasta(fa, 60, tmp_path / "g")
    # a+b reach 80 >= 60: the next file begins; c alone is over 60; d+e are the rest
    assert [(p.name, ids, n) for p, ids, n in groups] == [
        ("g.00001.fa", ["a", "b"], 80), ("g.00002.fa", ["c"], 200), ("g.00003.fa", ["d", "e"], 15)]
    assert b"".join(p.read_bytes() for p, _, _ in groups) == fa.read_bytes()  # lines copied as they are
    # a compressed genome, a sequence without a final newline
    gz = tmp_path / "h.fa.gz"
    gz.write_bytes(gzip.compress(b">x\nACGT\n>y\nGG"))
    groups = scatter_fasta(gz, 1, tmp_path / "h")
    assert [p.read_bytes() for p, _, _ in groups] == [b">x\nACGT\n", b">y\nGG\n"]


@pytest.mark.parametrize("text,message", [(b">a\nAC\n>a\nGT\n", "duplicate sequence id 'a' (records 1 and 2)"),
                                          (b"ACGT\n", "not a FASTA file"), (b"", "no '>' header found")])
def test_scatter_refuses_in_one_line_and_leaves_nothing(text, message, tmp_path):
    fa = tmp_path / "bad.fa"
    fa.write_bytes(text)
    proc = subprocess.run([*CHUNKS, "scatter", "--fasta", str(fa), "--chunk-bases", "1", "--prefix", "out"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fa"]


def _post_gff3(tmp_path: Path, name: str, seqs: dict[str, int]) -> Path:
    head = "##gff-version 3\n" + "".join(f"##sequence-region {s} 1 {n}\n" for s, n in seqs.items())
    head += f"# helixer-post 0.1.0: window 100\n{END_NOTE}# command: helixer-post --h5 {name}.h5\n"
    body = "".join(f"{s}\thelixer-post\tgene\t1\t9\t.\t+\t.\tID=Sp_{s}_000001\n" for s in seqs) + END_MARK
    path = tmp_path / f"{name}.gff3"
    path.write_text(head + body)
    return path


def test_gather_refuses_overlapping_or_mismatched_parts(tmp_path):
    from helixer_tools.chunks import gather_gff3
    from helixer_tools.errors import UserError

    a, b = _post_gff3(tmp_path, "a", {"s1": 10}), _post_gff3(tmp_path, "b", {"s1": 10})
    with pytest.raises(UserError, match="sequence s1 is also in"):
        gather_gff3([a, b], tmp_path / "out.gff3")
    c = _post_gff3(tmp_path, "c", {"s2": 10})
    c.write_text(c.read_text().replace("window 100", "window 50"))
    with pytest.raises(UserError, match="other settings or another model"):
        gather_gff3([a, c], tmp_path / "out.gff3")
    assert not (tmp_path / "out.gff3").exists()
    d = _post_gff3(tmp_path, "d", {"s3": 10, "s4": 20})
    assert gather_gff3([a, d], tmp_path / "out.gff3") == 3
    assert (tmp_path / "out.gff3").read_text().splitlines()[:5] == [
        "##gff-version 3", "##sequence-region s1 1 10", "##sequence-region s3 1 10", "##sequence-region s4 1 20",
        "# helixer-post 0.1.0: window 100"]


def test_gathered_equals_unscattered(tmp_path):
    """The real chain (fasta2h5 -> predict -> post) over A. thaliana chr1 0-1 Mbp cut into four sequences,
    once whole and once scattered into three tasks and gathered: the same GFF3, line for line, apart from
    helixer-post's '# command:' line, which names each task's own files. The parts are given in reverse:
    --fasta puts them in the genome's order."""
    from helixer_tools.cli import fasta2h5, post, predict

    seq = "".join(line.strip() for line in gzip.open(DATA / "athaliana_1M/chr1_1M.fa.gz", "rt") if line[0] != ">")
    cuts = [0, 180_000, 420_000, 700_000, len(seq)]
    genome = _fasta(tmp_path / "genome.fa", {f"piece{i}": seq[a:b] for i, (a, b) in enumerate(zip(cuts, cuts[1:]))})
    model = DATA / "athaliana_1M/chr1_0-10M.model.h5"

    def annotate(fasta: Path, name: str) -> Path:
        h5, pred, gff3 = (tmp_path / f"{name}{s}" for s in (".h5", ".predictions.h5", ".gff3"))
        assert fasta2h5.main(["--fasta", str(fasta), "-s", "Athaliana", "-o", str(h5), "-q"]) == 0
        assert predict.main(["--model", str(model), "--h5", str(h5), "--output", str(pred), "--overlap", "-q"]) == 0
        assert post.main(["--h5", str(h5), "--predictions", str(pred), "--output", str(gff3), "-q"]) == 0
        return gff3

    whole = annotate(genome, "whole")
    proc = subprocess.run([*CHUNKS, "scatter", "--fasta", str(genome), "--chunk-bases", "200000", "--prefix", "part",
                           "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    parts = sorted(tmp_path.glob("part.*.fa"))
    assert [p.name for p in parts] == ["part.00001.fa", "part.00002.fa", "part.00003.fa"]
    gff3s = [annotate(p, p.stem) for p in parts]
    proc = subprocess.run([*CHUNKS, "gather", "--gff3", *map(str, reversed(gff3s)), "--fasta", str(genome),
                           "--output", "gathered.gff3", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    def lines(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.startswith("# command:")]

    gathered, expected = lines(tmp_path / "gathered.gff3"), lines(whole)
    genes = [line for line in expected if "\tgene\t" in line]
    assert len(genes) > 100 and {line.split("\t")[6] for line in genes} == {"+", "-"}
    assert {line.split("\t")[0] for line in genes} == {f"piece{i}" for i in range(4)}
    assert gathered == expected


def test_gather_refuses_cut_parts_and_reads_compressed_ones(tmp_path):
    """A part cut off mid-line (a full disk, an interrupted copy) is refused; a binary part is one error line;
    a gzipped part is read; a part naming a sequence the FASTA lacks is refused with --fasta."""
    from helixer_tools.chunks import gather_gff3
    from helixer_tools.errors import UserError

    a, b = _post_gff3(tmp_path, "a", {"s1": 10}), _post_gff3(tmp_path, "b", {"s2": 10})
    cut = tmp_path / "cut.gff3"
    cut.write_text(b.read_text()[:-16])
    with pytest.raises(UserError, match="cut.gff3: line 6: the file ends mid-line, without a newline: cut off"):
        gather_gff3([a, cut], tmp_path / "out.gff3")
    # cut at a line boundary: the closing '###' its header promises is missing
    cut.write_text(b.read_text().removesuffix(END_MARK))
    with pytest.raises(UserError, match="cut.gff3: does not end with helixer-post's closing '###' line: cut off"):
        gather_gff3([a, cut], tmp_path / "out.gff3")
    assert not (tmp_path / "out.gff3").exists()
    assert gather_gff3([a, b], tmp_path / "whole.gff3") == 2
    whole = (tmp_path / "whole.gff3").read_text()
    assert whole.endswith("\tID=Sp_s2_000001\n###\n") and whole.splitlines().count("###") == 1 and whole.count(END_NOTE) == 1
    binary = tmp_path / "binary.gff3"
    binary.write_bytes(b"\x89HDF\r\n\x1a\n\xff\xfe" * 10)
    proc = subprocess.run([*CHUNKS, "gather", "--gff3", str(a), str(binary), "--output", "out.gff3"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "binary.gff3: line 1: not UTF-8 text" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    gz = tmp_path / "b.gff3.gz"
    gz.write_bytes(gzip.compress(b.read_bytes()))
    assert gather_gff3([a, gz], tmp_path / "out.gff3") == 2
    fasta = _fasta(tmp_path / "g.fa", {"s2": "A" * 10, "s1": "C" * 10})
    assert gather_gff3([a, gz], tmp_path / "ordered.gff3", fasta) == 2
    assert [line.split()[1] for line in (tmp_path / "ordered.gff3").read_text().splitlines()
            if line.startswith("##sequence-region")] == ["s2", "s1"]
    other = _post_gff3(tmp_path, "other", {"chrZ": 10})
    with pytest.raises(UserError, match="other.gff3: sequence chrZ is not in .*g.fa: a part of another genome"):
        gather_gff3([a, other], tmp_path / "out2.gff3", fasta)


def test_scatter_removes_an_earlier_scatters_files(tmp_path):
    from helixer_tools.chunks import scatter_fasta

    fa = _fasta(tmp_path / "g.fa", {"a": "A" * 30, "b": "C" * 50, "c": "G" * 200})
    assert len(scatter_fasta(fa, 10, tmp_path / "g")) == 3
    (tmp_path / "g.keep.fa").write_text(">x\nA\n")  # not a scatter's name: kept
    assert len(scatter_fasta(fa, 1000, tmp_path / "g")) == 1
    assert sorted(p.name for p in tmp_path.glob("g.*.fa")) == ["g.00001.fa", "g.keep.fa"]
