"""Nothing lost, nothing silent (issue 16): a corpus of careless invocations, each refused in one line before
any work, with every input unchanged and nothing left in the output folder. Grows with every bug found.

So far: an output that is an input (it would be destroyed), and two outputs of one run on one path (one
would be lost), by resolved path: plain, through a symlink, and through a hard link.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

TEST_DATA = ROOT / "galaxy" / "test-data"
FILES = {
    "fa": "micromonas_small.fa", "gff3": "micromonas_small.gff3", "db": "micromonas_small.sqlite3",
    "h5": "micromonas_small.h5", "labels": "micromonas_small.labels.h5", "preds": "micromonas_small.predictions.h5",
    "bam": "micromonas_small.rnaseq.bam", "bai": "micromonas_small.rnaseq.bam.bai",
    "model": "helixer_tiny_head_tuned.h5",
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
    "post --stats is the genome h5": (
        "post", "--h5 {h5} --predictions {preds} --output g.gff3 --stats {h5}", "--stats is the same file as --h5"),
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
}


def digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES)
def test_refused_in_one_line_inputs_unchanged(case, tmp_path, capsys, monkeypatch):
    tool, template, message = CASES[case]
    for name in FILES.values():
        shutil.copy(TEST_DATA / name, tmp_path / name)
    shutil.copy(TEST_DATA / FILES["labels"], tmp_path / "training_data.h5")
    (tmp_path / "link.h5").symlink_to(tmp_path / FILES["model"])
    os.link(tmp_path / FILES["model"], tmp_path / "hard.h5")
    before = {p.name: digest(p) for p in tmp_path.iterdir()}
    monkeypatch.chdir(tmp_path)
    argv = template.format(**FILES).split()
    cli = importlib.import_module(f"helixer_tools.cli.{tool}")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    prog = cli.build_parser().prog
    assert err.count("\n") == 1 and err.startswith(f"{prog}: error: "), err
    assert message in err and "tmp-" not in err, err
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before  # nothing changed, nothing new
