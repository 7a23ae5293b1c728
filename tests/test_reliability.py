"""Nothing lost, nothing silent (issue 16): a corpus of careless invocations, each refused in one line before
any work, with every input unchanged and nothing left in the output folder. Grows with every bug found.

The corpus: an output that is an input (it would be destroyed) or two outputs of one run on one path (one
would be lost), by resolved path (plain, symlink, hard link); outputs that cannot be written (a directory, a
missing folder); stale and foreign BAM indexes; truncated and xz/bz2/zstd input; broken GFF3 (features past the
sequence end, a Parent naming nothing, an exon outside its transcript, duplicate IDs, a CDS without Parent, GTF);
files of different genomes or species; weights that train nothing. Cancelled runs (SIGTERM, SIGINT) leave
nothing behind.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

TEST_DATA = ROOT / "galaxy" / "test-data"
FILES = {
    "fa": "micromonas_small.fa", "gff3": "micromonas_small.gff3", "db": "micromonas_small.sqlite3",
    "h5": "micromonas_small.h5", "labels": "micromonas_small.labels.h5", "preds": "micromonas_small.predictions.h5",
    "bam": "micromonas_small.rnaseq.bam", "bai": "micromonas_small.rnaseq.bam.bai",
    "model": "helixer_tiny_head_tuned.h5", "half_bai": "micromonas_small.half.bam.bai",
    "other_preds": "athaliana_small.predictions.h5",
}
GFF3 = (TEST_DATA / FILES["gff3"]).read_text()
EXON = "NW_003315902.1\tRefSeq\texon\t735\t1035\t"
# broken variants of the GFF3 (name -> text); the line numbers in CASES are those of the edited line
BROKEN_GFF3 = {
    "past_end.gff3": GFF3.replace(EXON, EXON.replace("1035", "9999"), 1),
    "lost_parent.gff3": GFF3.replace("ID=exon-XM_003064948.1-1;Parent=rna-XM_003064948.1",
                                     "ID=exon-XM_003064948.1-1;Parent=rna-missing", 1),
    "exon_outside.gff3": GFF3.replace(EXON, EXON.replace("1035", "1100"), 1),
    # an exon given its gene's ID (a transcript with its gene's ID as ID and Parent is gffread's shape: read)
    "duplicate_id.gff3": GFF3.replace("ID=exon-XM_003064948.1-1;Parent=rna-XM_003064948.1",
                                      "ID=gene-MICPUCDRAFT_23903;Parent=rna-XM_003064948.1", 1),
    "cds_no_parent.gff3": GFF3.replace("ID=cds-XP_003064994.1;Parent=rna-XM_003064948.1;", "ID=cds-XP_003064994.1;", 1),
    "mixed.gff3": GFF3 + 'NW_003315902.1\tRefSeq\texon\t735\t1035\t.\t-\t.\tgene_id "g1"; transcript_id "t1";\n',
}

# (tool module, argv with {name} for the copied inputs, message fragment)
CASES = {
    "fasta2h5 --output is the FASTA": (
        "fasta2h5", "--fasta {fa} --species Mp --output {fa}", "--output is the same file as --fasta"),
    "import2geenuff --log is --output": (
        "import2geenuff", "--gff3 {gff3} --fasta {fa} --species Mp --output out.db --log out.db",
        "--log and --output are the same file"),
    "import2geenuff --output is the GFF3": (
        "import2geenuff", "--gff3 {gff3} --fasta {fa} --species Mp --output {gff3} --log l.txt",
        "--output is the same file as --gff3"),
    "geenuff2h5 --output is the database": (
        "geenuff2h5", "--db {db} --h5 {h5} --output {db}", "--output is the same file as --db"),
    "add-coverage --output is the BAM": (
        "add_coverage", "--h5 {h5} --bam {bam} --output {bam} --second-read-is-sense-strand",
        "--output is the same file as --bam"),
    "train --output is the training h5": (
        "train", "head --pretrained {model} --training {labels} --validation {labels} --output {labels}",
        "--output is the same file as --training"),
    "train --metrics is --output": (
        "train", "head --pretrained {model} --training {labels} --validation {labels} --output m.h5 --metrics m.h5",
        "--metrics and --output are the same file"),
    "predict --output is the model": (
        "predict", "--model {model} --h5 {h5} --output {model}", "--output is the same file as --model"),
    "evaluate --json is the predictions": (
        "evaluate", "--labels {labels} --predictions {preds} --output e.tsv --json {preds}",
        "--json is the same file as --predictions"),
    "post --rename-map of another genome": (
        "post", "--h5 {h5} --predictions {preds} --output g.gff3 --rename-map other_map.tsv",
        "other_map.tsv: names 1 sequence(s) the genome h5 does not have, e.g. 'chrX' (line 2): the map of another "
        "genome?"),
    "export-model would overwrite a file the user never named": (
        "export_model", "--model helixer_tiny_cov_tuned.h5 --output up.h5",
        "up.pretrained.h5: exists and is not the companion file helixer-export-model wrote for up.h5"),
    "chunks gather of a part cut off mid-line": (
        "chunks", "gather --gff3 {gff3} cut_part.gff3 --output all.gff3",
        "cut_part.gff3: line 9: the file ends mid-line, without a newline: cut off?"),
    "evaluate of helixer-post's GFF3 cut at a line boundary": (
        "evaluate", "--reference {gff3} --gff3 cut_post.gff3 --output e.tsv",
        "cut_post.gff3: does not end with the closing '###' line its header (or the '###' between its genes) "
        "promises: cut off"),
    "import2geenuff of a GFF3 with '###' between genes, cut at a line boundary": (
        "import2geenuff", "--gff3 cut_ensembl.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "cut_ensembl.gff3: does not end with the closing '###' line"),
    "evaluate of a GFF3 cut off mid-line": (
        "evaluate", "--reference {gff3} --gff3 cut_part.gff3 --output e.tsv",
        "cut_part.gff3: line 9: the file ends mid-line, without a newline: cut off?"),
    "post --stats is the genome h5": (
        "post", "--h5 {h5} --predictions {preds} --output g.gff3 --stats {h5}", "--stats is the same file as --h5"),
    "select of labels without annotated rows": (
        "select", "--labels unannotated.labels.h5 --predictions {preds} --output s.h5",
        "unannotated.labels.h5: no subsequence has an annotated, labelled base"),
    "select --table is the labels": (
        "select", "--labels {labels} --predictions {preds} --output s.h5 --table {labels}",
        "--table is the same file as --labels"),
    "split --training is the input": (
        "split", "--h5 {labels} --training {labels} --validation v.h5 --by-region", "--training is the same file as --h5"),
    "split --output-dir holds the input": (
        "split", "--h5 training_data.h5 --output-dir . --by-region", "--output-dir is the same file as --h5"),
    "export-model --output is the model": (
        "export_model", "--model {model} --output {model}", "--output is the same file as --model"),
    "export-model --commands is --output": (
        "export_model", "--model {model} --output up.h5 --commands up.h5", "--commands and --output are the same file"),
    "predict --output is a symlink to the model": (
        "predict", "--model {model} --h5 {h5} --output link.h5", "--output is the same file as --model"),
    "predict --output is a hard link to the model": (
        "predict", "--model {model} --h5 {h5} --output hard.h5", "--output is the same file as --model"),
    # outputs that cannot be written: refused before any work, naming the user's path, never a temp name
    "evaluate --output is a directory": (
        "evaluate", "--labels {labels} --predictions {preds} --output .", ".: is a directory; give a file name"),
    "fasta2h5 --output is an existing directory": (
        "fasta2h5", "--fasta {fa} --species Mp --output sub", "sub: is a directory"),
    "evaluate --plot in a missing folder (the TSV is not written either)": (
        "evaluate", "--labels {labels} --predictions {preds} --output e.tsv --plot nodir/p.png",
        "nodir/p.png: the directory to write it in does not exist"),
    "import2geenuff --log in a missing folder (no database either)": (
        "import2geenuff", "--gff3 {gff3} --fasta {fa} --species Mp --output out.db --log nodir/l.txt",
        "nodir/l.txt: the directory to write it in does not exist"),
    # BAM indexes that do not fit their BAM
    "add-coverage with another BAM's index": (
        "add_coverage", "--h5 {h5} --bam {bam} --bai {half_bai} --output o.h5 --second-read-is-sense-strand",
        "does not match micromonas_small.rnaseq.bam"),
    "add-coverage with a stale index": (
        "add_coverage", "--h5 {h5} --bam changed.bam --output o.h5 --second-read-is-sense-strand",
        "changed.bam.bai: points past the end of changed.bam"),
    "add-coverage with BAM contigs named otherwise (nw_ vs NW_)": (
        "add_coverage", "--h5 renamed.h5 --bam {bam} --output o.h5 --second-read-is-sense-strand",
        "2 of the 2 sequences of renamed.h5 are not among its contigs (nw_003315902.1, nw_003315901.1); the names "
        "differ: nw_003315902.1 vs NW_003315902.1"),
    # compressed input: truncated, or a compression we do not read
    "import2geenuff with a truncated .gff3.gz": (
        "import2geenuff", "--gff3 cut.gff3.gz --fasta {fa} --species Mp --output out.db --log l.txt",
        "cut.gff3.gz: the gzip data is truncated or corrupt"),
    "fasta2h5 with a truncated .fa.gz": (
        "fasta2h5", "--fasta cut.fa.gz --species Mp --output o.h5", "cut.fa.gz: the gzip data is truncated or corrupt"),
    "fasta2h5 with a zstd FASTA": (
        "fasta2h5", "--fasta genome.fa.zst --species Mp --output o.h5", "genome.fa.zst: is zstd-compressed"),
    # broken GFF3: one line-numbered error each, before GeenuFF sees it
    "import2geenuff: a feature past the sequence end": (
        "import2geenuff", "--gff3 past_end.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "line 12: exon ends at 9999, past the end of NW_003315902.1 (5431 bp"),
    "import2geenuff: a Parent naming no feature": (
        "import2geenuff", "--gff3 lost_parent.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "line 12: Parent 'rna-missing' names no feature in the file"),
    "import2geenuff: an exon outside its transcript": (
        "import2geenuff", "--gff3 exon_outside.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "line 12: exon 'exon-XM_003064948.1-1' (NW_003315902.1:735-1100) lies outside its parent mRNA"),
    "import2geenuff: duplicate IDs": (
        "import2geenuff", "--gff3 duplicate_id.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "line 12: ID 'gene-MICPUCDRAFT_23903' is already used on line 10 by a gene"),
    "import2geenuff: a CDS without Parent": (
        "import2geenuff", "--gff3 cds_no_parent.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "line 15: CDS without a Parent attribute"),
    "import2geenuff: GTF lines in a GFF3 file": (
        "import2geenuff", "--gff3 mixed.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "line 90: GTF attributes in a GFF3 file"),
    # files of different genomes
    "geenuff2h5 --h5 of another genome with the same ids and lengths": (
        "geenuff2h5", "--db {db} --h5 other_bases.h5 --output l.h5",
        "other_bases.h5: sequence 'NW_003315902.1' is not the one in"),
    "evaluate predictions of another species": (
        "evaluate", "--labels {labels} --predictions {other_preds} --output e.tsv",
        "athaliana_small.predictions.h5: predicts species Athaliana, but micromonas_small.labels.h5 holds Mpusilla"),
}


def _other_bases(fasta: str) -> str:
    """The same ids and lengths, other bases (A and C swapped)."""
    return "".join(line if line.startswith(">") else line.translate(str.maketrans("ACac", "CAca"))
                   for line in fasta.splitlines(keepends=True))


def make_inputs(folder: Path) -> None:
    """Copies of the test data and the broken or mismatched files the cases use."""
    for name in FILES.values():
        shutil.copy(TEST_DATA / name, folder / name)
    shutil.copy(TEST_DATA / FILES["labels"], folder / "training_data.h5")
    (folder / "link.h5").symlink_to(folder / FILES["model"])
    os.link(folder / FILES["model"], folder / "hard.h5")
    (folder / "sub").mkdir()
    (folder / "sub" / "keep.txt").write_text("a file in a folder given as output\n")
    for name, text in BROKEN_GFF3.items():
        (folder / name).write_text(text)
    fasta = (TEST_DATA / FILES["fa"]).read_bytes()
    (folder / "cut.gff3.gz").write_bytes(gzip.compress(GFF3.encode())[:1000])
    (folder / "cut.fa.gz").write_bytes(gzip.compress(fasta)[:3000])
    (folder / "genome.fa.zst").write_bytes(b"\x28\xb5\x2f\xfd" + fasta[:100])
    shutil.copy(TEST_DATA / "micromonas_small.half.bam", folder / "changed.bam")  # the BAM changed, its index did not
    shutil.copy(TEST_DATA / FILES["bai"], folder / "changed.bam.bai")
    (folder / "other_bases.fa").write_text(_other_bases(fasta.decode()))
    (folder / "other_map.tsv").write_text("h5_id\tfasta_id\nchrX\tchromosome_X\n")
    shutil.copy(TEST_DATA / "helixer_tiny_cov_tuned.h5", folder / "helixer_tiny_cov_tuned.h5")
    (folder / "up.pretrained.h5").write_text("a file of the user's\n")
    (folder / "cut_part.gff3").write_text("".join(GFF3.splitlines(keepends=True)[:9])[:-20])
    from helixer_tools.gff import END_NOTE

    post_lines = (TEST_DATA / "athaliana_small.predicted.gff3").read_text().splitlines(keepends=True)
    post_lines.insert(next(i for i, line in enumerate(post_lines) if line.startswith("# helixer-post")) + 1, END_NOTE)
    (folder / "cut_post.gff3").write_text("".join(post_lines[:-7]))  # a whole gene or more lost, at a line end
    genes = re.split(r"(?m)^(?=\S+\t\S+\tgene\t)", GFF3)  # Ensembl's layout: '###' after each gene
    (folder / "cut_ensembl.gff3").write_text("###\n".join(genes)[:-1].rsplit("\n", 3)[0] + "\n")
    shutil.copy(TEST_DATA / FILES["labels"], folder / "unannotated.labels.h5")  # no gene models imported
    import h5py

    with h5py.File(folder / "unannotated.labels.h5", "r+") as f:
        f["data/is_annotated"][:] = False
    (folder / "renamed.fa").write_text(fasta.decode().replace(">NW_", ">nw_"))
    from helixer_tools.cli import fasta2h5

    for name in ("other_bases", "renamed"):
        assert fasta2h5.main(["--fasta", str(folder / f"{name}.fa"), "--species", "Mpusilla", "-q",
                              "--output", str(folder / f"{name}.h5")]) == 0


def digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones included) and its checksum."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES)
def test_refused_in_one_line_inputs_unchanged(case, tmp_path, capsys, monkeypatch):
    tool, template, message = CASES[case]
    make_inputs(tmp_path)
    capsys.readouterr()  # what making the inputs printed
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = template.format(**FILES).split() + ["-q"]  # warnings and errors only
    cli = importlib.import_module(f"helixer_tools.cli.{tool}")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    prog = cli.build_parser().prog
    assert err.count("\n") == 1 and err.startswith(f"{prog}: error: "), err
    assert message in err and "tmp-" not in err, err
    assert tree(tmp_path) == before  # nothing changed, nothing new


SPLIT_CASES = {
    "a genome without labels": ("--h5 {h5}", "has no labels (data/y; it is a genome without labels)"),
    "predictions": ("--h5 {preds}", "has no labels (data/y; it is predictions)"),
    "a failure after the checks of the input": ("--h5 {labels} --by-region --block-size 1000",
                                                "--block-size 1000 is not a multiple of the subsequence length 21384"),
}


@pytest.mark.parametrize("case", SPLIT_CASES)
def test_split_refuses_and_leaves_no_folder(case, tmp_path, capsys, monkeypatch):
    """helixer-split refuses files without labels (it makes training data), reads the subsequence length of
    the labels, and removes the --output-dir folders it made when it fails."""
    from helixer_tools.cli import split

    template, message = SPLIT_CASES[case]
    for name in FILES.values():
        shutil.copy(TEST_DATA / name, tmp_path / name)
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert split.main(template.format(**FILES).split() + ["--output-dir", "new/sub", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert tree(tmp_path) == before and not (tmp_path / "new").exists()


# argument errors: argparse's usage line, then one error line, exit code 2
ARGUMENT_CASES = {
    "train --class-weights all zero": (
        "train", "head --pretrained {model} --training {labels} --validation {labels} --output m.h5 "
                 "--class-weights 0,0,0,0", "class weights are all zero"),
}


@pytest.mark.parametrize("case", ARGUMENT_CASES)
def test_argument_errors(case, tmp_path, capsys, monkeypatch):
    tool, template, message = ARGUMENT_CASES[case]
    for name in FILES.values():
        shutil.copy(TEST_DATA / name, tmp_path / name)
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    cli = importlib.import_module(f"helixer_tools.cli.{tool}")
    with pytest.raises(SystemExit) as exit_:
        cli.main(template.format(**FILES).split())
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("usage:") and message in err.splitlines()[-1], err
    assert tree(tmp_path) == before


@pytest.mark.parametrize("tool,sig,code", [("predict", signal.SIGTERM, 143), ("predict", signal.SIGINT, 130),
                                           ("train", signal.SIGTERM, 143)])
def test_cancelled_run_leaves_nothing(tool, sig, code, tmp_path):
    """What Galaxy, Slurm and Nextflow send on cancel (SIGTERM) and Ctrl-C (SIGINT), mid-run: the partial
    output is removed, the exit code says which signal, and the last line says that nothing was written."""
    data = ROOT / "tests" / "data" / "athaliana_1M"
    args = {
        # one row a batch, overlapping: ~17 s of writing, not 3 (CI once saw all of it done before the signal)
        "predict": ["--model", data / "chr1_0-10M.model.h5", "--h5", data / "upstream_fasta.h5", "--output", "p.h5",
                    "--overlap", "--batch-size", "1"],
        "train": ["head", "--pretrained", TEST_DATA / "helixer_tiny_upstream.h5", "--training", TEST_DATA / FILES["labels"],
                  "--validation", TEST_DATA / FILES["labels"], "--output", "m.h5", "--metrics", "m.tsv",
                  "--epochs", "1000", "--patience", "1000"],
    }[tool]
    # a background job of a non-interactive shell (CI) inherits SIGINT ignored; a terminal's would not
    proc = subprocess.Popen([sys.executable, "-m", f"helixer_tools.cli.{tool}", *map(str, args)], cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".") for p in tmp_path.iterdir()):  # writing has begun
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no temporary output appeared"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1].endswith("no output written") and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_surfacing_as_another_exception(sig, code, tmp_path, capsys):
    """A signal that lands inside C code may come out as another exception: CI once saw Ctrl-C during
    TensorFlow's graph tracing surface as "SystemError: bad argument to internal function". It is still a
    cancel: its exit code, one line, no traceback, and the partial output removed."""
    from helixer_tools.atomic import atomic_path
    from helixer_tools.cli import common

    out = tmp_path / "out.txt"

    def action(args, argv):
        with atomic_path(out) as tmp:
            Path(tmp).write_text("partial")
            try:
                signal.raise_signal(sig)
            except KeyboardInterrupt:
                raise SystemError("Objects/listobject.c:338: bad argument to internal function")

    parser = common.make_parser("helixer-x", "test", [])
    assert common.run(parser, [], action) == code
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].endswith("no output written") and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is not common._on_signal  # handlers restored


def test_a_genome_is_recognised_along_the_chain(tmp_path, capsys):
    """fasta2h5 records each sequence's SHA-1 (GeenuFF's), geenuff2h5 checks it against the database and keeps
    it, predict copies it: evaluate can then tell predictions of another assembly from those of this one."""
    from helixer_tools.cli import fasta2h5, geenuff2h5, predict
    from helixer_tools.h5io import digests_of
    import h5py
    import sqlite3

    fa, db = TEST_DATA / FILES["fa"], TEST_DATA / FILES["db"]
    assert fasta2h5.main(["--fasta", str(fa), "-s", "Mpusilla", "-o", str(tmp_path / "g.h5"), "-q"]) == 0
    assert geenuff2h5.main(["--db", str(db), "--h5", str(tmp_path / "g.h5"), "-o", str(tmp_path / "l.h5"), "-q"]) == 0
    assert predict.main(["--model", str(TEST_DATA / FILES["model"]), "--h5", str(tmp_path / "g.h5"),
                         "-o", str(tmp_path / "p.h5"), "-q"]) == 0
    with sqlite3.connect(db) as con:
        expected = dict(con.execute("SELECT seqid, sha1 FROM coordinate"))
    for name in ("g.h5", "l.h5", "p.h5"):
        with h5py.File(tmp_path / name) as f:
            assert digests_of(f) == expected, name


def _empty_bam(folder: Path) -> Path:
    """A sorted, indexed BAM with the test BAM's header and no alignments."""
    import pysam

    out = folder / "empty.bam"
    with pysam.AlignmentFile(TEST_DATA / FILES["bam"]) as src, pysam.AlignmentFile(out, "wb", header=src.header):
        pass
    pysam.index(str(out))
    return out


# runs that succeed but must not be silent: a WARNING line each (shown with -q)
WARNING_CASES = {
    "a GFF3 with no genes": (
        "import2geenuff", "--gff3 regions.gff3 --fasta {fa} --species Mp --output out.db --log l.txt",
        "regions.gff3: no genes imported: the labels will be all intergenic"),
    "a BAM with no alignments": (
        "add_coverage", "--h5 {h5} --bam empty.bam --output o.h5 --second-read-is-sense-strand",
        "empty.bam: no alignments on the genome's sequences"),
}


@pytest.mark.parametrize("case", WARNING_CASES)
def test_warned_not_silent(case, tmp_path, capsys, monkeypatch):
    tool, template, message = WARNING_CASES[case]
    for name in FILES.values():
        shutil.copy(TEST_DATA / name, tmp_path / name)
    (tmp_path / "regions.gff3").write_text("".join(line + "\n" for line in GFF3.splitlines()
                                                   if line.startswith("#") or "\tregion\t" in line))
    _empty_bam(tmp_path)
    monkeypatch.chdir(tmp_path)
    cli = importlib.import_module(f"helixer_tools.cli.{tool}")
    assert cli.main(template.format(**FILES).split() + ["-q"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and " WARNING " in err and message in err, err


def _bom_crlf(text: str) -> bytes:
    """The file as a Windows editor saves it: a UTF-8 byte-order mark and CRLF line ends."""
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()


def test_byte_order_mark_and_crlf_read_past(tmp_path, monkeypatch):
    """A UTF-8 byte-order mark at the start (Windows editors write it), with CRLF line ends, is read past by
    every tool that reads FASTA, GFF3, BED or a rename map: the same results as the plain files give."""
    import h5py
    import numpy as np
    from helixer_tools.cli import chunks, evaluate, fasta2h5, import2geenuff, post

    monkeypatch.chdir(tmp_path)
    fa, gff3 = (TEST_DATA / FILES["fa"]).read_text(), GFF3
    Path("bom.fa").write_bytes(_bom_crlf(fa))
    Path("bom.gff3").write_bytes(_bom_crlf(gff3))
    q = ["-q"]
    for name in ("plain", "bom"):
        src = TEST_DATA / FILES["fa"] if name == "plain" else Path("bom.fa")
        assert fasta2h5.main(["--fasta", str(src), "--species", "Mp", "--output", f"{name}.h5", *q]) == 0
        gff = TEST_DATA / FILES["gff3"] if name == "plain" else Path("bom.gff3")
        assert import2geenuff.main(["--gff3", str(gff), "--fasta", str(src), "--species", "Mp", "--output",
                                    f"{name}.db", "--log", f"{name}.log", "--summary", f"{name}.tsv", *q]) == 0
        assert chunks.main(["scatter", "--fasta", str(src), "--chunk-bases", "10000000", "--prefix", name, *q]) == 0
    with h5py.File("plain.h5") as a, h5py.File("bom.h5") as b:
        for key in ("data/X", "data/seqids", "data/start_ends"):
            assert np.array_equal(a[key][:], b[key][:]), key
    assert Path("plain.tsv").read_text() == Path("bom.tsv").read_text()
    assert Path("bom.00001.fa").read_bytes().replace(b"\r", b"") == Path("plain.00001.fa").read_bytes()
    # gene level: the BOM'd reference against the plain file is a perfect match; a BED of regions with a BOM
    bed = "".join(f"{s}\t0\t{n}\n" for s, n in (("NW_003315902.1", 10**6), ("NW_003315901.1", 10**6)))
    Path("regions.bed").write_bytes(_bom_crlf(bed))
    assert evaluate.main(["--reference", "bom.gff3", "--gff3", str(TEST_DATA / FILES["gff3"]), "--names", "x",
                          "--regions", "regions.bed", "--output", "e.tsv", *q]) == 0
    scores = dict(line.split("\t")[:2] for line in Path("e.tsv").read_text().splitlines()[1:])
    assert float(scores["reference_genes"]) > 0 and float(scores["coding_gene_f1"]) == 1.0
    # gather of BOM'd parts, and post's rename map
    made = tmp_path / "genes.gff3"
    assert post.main(["--h5", str(TEST_DATA / FILES["h5"]), "--predictions", str(TEST_DATA / FILES["preds"]),
                      "--output", str(made), *q]) == 0
    Path("part.gff3").write_bytes(_bom_crlf(made.read_text()))
    assert chunks.main(["gather", "--gff3", "part.gff3", "--output", "gathered.gff3", *q]) == 0
    assert Path("gathered.gff3").read_text() == "".join(  # gather leaves each part's command line out
        line for line in made.read_text().splitlines(keepends=True) if not line.startswith("# command:"))
    Path("map.tsv").write_bytes(_bom_crlf("h5_id\tfasta_id\nNW_003315902.1\tscaffold_2\n"))
    assert post.main(["--h5", str(TEST_DATA / FILES["h5"]), "--predictions", str(TEST_DATA / FILES["preds"]),
                      "--rename-map", "map.tsv", "--output", "renamed.gff3", *q]) == 0
    text = Path("renamed.gff3").read_text()
    assert "##sequence-region scaffold_2 " in text and "\nNW_003315902.1\t" not in text


# a full disk: every tool that writes, as a user runs it (its console script), on a 12 kB tmpfs
FULL_DISK_CASES = {
    "fasta2h5": "--fasta {fa} --species Mp --output {out}/g.h5",
    "import2geenuff": "--gff3 {gff3} --fasta {fa} --species Mp --output {out}/x.db --log {out}/x.log",
    "geenuff2h5": "--db {db} --h5 {h5} --output {out}/l.h5",
    "add-coverage": "--h5 {labels} --bam {bam} --second-read-is-sense-strand --output {out}/c.h5",
    "predict": "--model {model} --h5 {h5} --output {out}/p.h5",
    "train": "head --pretrained helixer_tiny_upstream.h5 --training {labels} --validation {labels} --epochs 1 "
             "--output {out}/m.h5",
    "export-model": "--model {model} --output {out}/e.h5",
    "evaluate": "--labels {labels} --predictions {preds} --output {out}/e.tsv --html {out}/r.html",
    "select": "--labels {labels} --predictions {preds} --output {out}/s.h5",
    "split": "--h5 {labels} --output-dir {out}/split --by-region --block-size 21384",
}


@contextlib.contextmanager
def _mounted(folder: Path, *options: str):
    """``folder`` as a fresh mount (a tmpfs of some size, or a read-only bind of itself); skips where this
    process may not mount (not root, or a container without the capability)."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    steps = [["mount", *options, str(folder)]] if options[0] == "-t" else \
        [["mount", "--bind", str(folder), str(folder)], ["mount", "-o", "remount,bind,ro", str(folder)]]
    for i, step in enumerate(steps):
        if subprocess.run(step, capture_output=True).returncode:
            if i:
                subprocess.run(["umount", str(folder)], capture_output=True)
            pytest.skip(f"cannot mount here ({' '.join(step)})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.parametrize("tool", FULL_DISK_CASES)
def test_full_disk(tool, tmp_path):
    """Exit 1, one line naming the user's output and 'no space left on device', nothing left behind (before:
    segfaults with exit 139 leaving .name.tmp-PID.h5, chained tracebacks, raw HDF5 text naming the
    temporary file, or the GFF3 blamed)."""
    with _mounted(tmp_path / "full", "-t", "tmpfs", "-o", "size=12k", "tmpfs") as out:
        argv = FULL_DISK_CASES[tool].format(out=out, **FILES).split()
        result = subprocess.run([str(ROOT / ".venv/bin" / f"helixer-{tool}"), *argv, "-q"], capture_output=True,
                                text=True, cwd=TEST_DATA)
        left = sorted(p.name for p in out.iterdir())
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if " WARNING " not in line]
    assert len(lines) == 1 and lines[0].startswith(f"helixer-{tool}: error: {out}/"), result.stderr[-2000:]
    assert lines[0].endswith(": no space left on device; nothing was written") and ".tmp-" not in lines[0]
    assert left == []


def test_read_only_file_system(tmp_path):
    """A read-only file system is said to be one, not 'permission denied'."""
    with _mounted(tmp_path / "ro", "--bind") as ro:
        result = subprocess.run([str(ROOT / ".venv/bin/helixer-fasta2h5"), "--fasta", FILES["fa"], "--species", "Mp",
                                 "--output", str(ro / "g.h5"), "-q"], capture_output=True, text=True, cwd=TEST_DATA)
        split = subprocess.run([str(ROOT / ".venv/bin/helixer-split"), "--h5", FILES["labels"], "--output-dir",
                                str(ro / "split"), "--by-region", "-q"], capture_output=True, text=True, cwd=TEST_DATA)
    assert result.returncode == 1 and result.stderr == \
        f"helixer-fasta2h5: error: {ro}/g.h5: cannot write in its directory (read-only file system)\n"
    assert split.returncode == 1 and split.stderr == \
        f"helixer-split: error: {ro}/split: read-only file system; nothing was written\n"
