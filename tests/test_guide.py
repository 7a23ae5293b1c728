"""docs/guide.md as a user follows it: every bash block runs, in order, in one shell, on bundled data (A.
thaliana chr1 0-1 Mbp with its RNA-seq; a model trained on chr1 0-10 Mbp served as the released model by a
mirror list in upstream's format), with short training; and every Galaxy tool, workflow and pipeline parameter the page
names exists (each is tested where it lives: tests/test_galaxy.py, tests/test_module_scripts.py,
tests/test_nextflow.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import pysam

from conftest import ROOT

GUIDE = ROOT / "docs" / "guide.md"


def blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", GUIDE.read_text(), re.S)


def test_every_cli_step_of_the_guide_runs(tmp_path):
    script = "set -euo pipefail\n" + "\n".join(blocks())
    at = ROOT / "tests" / "data" / "athaliana_1M"  # A. thaliana chr1 0-1 Mbp, RefSeq genes, stranded RNA-seq
    # the "released" model: one trained on chr1 0-10 Mbp, served by a mirror list in upstream's format
    model = at / "chr1_0-10M.model.h5"
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "model_list.csv").write_text(
        "lineage,priority,download_link,model,model_file_name,available_since,synonyms,md5\n"
        f"land_plant,80,{model.as_uri()},at_chr1_0-10M,at_chr1_0-10M.h5,2026/12/07,,"
        f"{hashlib.md5(model.read_bytes()).hexdigest()}\n")
    half = tmp_path / "unstranded.bam"  # another library: every other alignment of the first
    with pysam.AlignmentFile(str(at / "chr1_1M.rnaseq.bam")) as src, \
            pysam.AlignmentFile(str(half), "wb", template=src) as dst:
        for i, read in enumerate(src):
            if i % 2:
                dst.write(read)
    pysam.index(str(half))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GENOME": str(at / "chr1_1M.fa.gz"), "GFF3": str(at / "chr1_1M.gff3.gz"), "SPECIES": "Athaliana",
           "BAMS": str(at / "chr1_1M.rnaseq.bam"), "UNSTRANDED_BAMS": str(half),
           "TRAIN_OPTS": "--epochs 1 --batch-size 8 --val-batch-size 16", "SPLIT_OPTS": "--by-region",
           "HELIXER_MODEL_LIST": str(tmp_path / "mirror" / "model_list.csv"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    (tmp_path / "guide.sh").write_text(script)
    proc = subprocess.run(["bash", "guide.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr
    # the released model came from the mirror, into upstream's cache layout
    assert (tmp_path / "xdg/Helixer/models/land_plant/at_chr1_0-10M.h5").read_bytes() == model.read_bytes()
    for model, route in (("route1", "whole"), ("route2", "head"), ("route2_pseudo", "head"), ("route3", "coverage"),
                         ("route2_more", "head")):
        with h5py.File(tmp_path / f"{model}.h5") as f:
            assert json.loads(f.attrs["helixer_tools_model"])["route"] == route, model
    with h5py.File(tmp_path / "confident.h5") as f:
        assert "helixer_tools_pseudolabels" in f.attrs
    with h5py.File(tmp_path / "labels_cov2.h5") as f:  # the second strandedness appended as its own column
        assert f["evaluation/rnaseq_coverage"].shape[-1] == 2
    for gff3 in ("pretrained.gff3", "route2.gff3", "route3.gff3"):
        assert (tmp_path / gff3).read_text().rstrip().endswith("###")
    table = (tmp_path / "evaluation.tsv").read_text().splitlines()
    assert table[0].split("\t")[:4] == ["metric", "pretrained", "route2", "route3"]
    assert (tmp_path / "route3_upstream.pretrained.h5").is_file() and (tmp_path / "report.html").stat().st_size > 10_000


def test_what_the_guide_names_exists():
    text = GUIDE.read_text()
    tools = set(re.findall(r"`(helixer_[a-z0-9_]+)`", text))
    wrappers = {p.stem for p in (ROOT / "galaxy").glob("helixer_*.xml")} | {"helixer_fetch_model"}
    assert tools and tools <= wrappers, tools - wrappers
    workflows = set(re.findall(r"\*(helixer-[a-z-]+)\*", text))
    assert workflows == {p.name for p in (ROOT / "workflows").iterdir() if p.is_dir()}
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    params = {k for group in schema["$defs"].values() for k in group["properties"]}
    prose = re.sub(r"```.*?```", "", text, flags=re.S)  # the code spans of the text, not the CLI blocks
    named = {flag for span in re.findall(r"`([^`]+)`", prose) for flag in re.findall(r"--([a-z_]+)\b(?!-)", span)}
    pipeline = {p for p in named if "_" in p or p in params}
    assert {"lineage", "method", "labels", "keep_fraction", "skip_select", "bams", "predict_subsequence_length",
            "recipe", "learning_rate"} <= pipeline
    assert pipeline <= params | {"input", "genome", "gff3", "species", "route", "model", "pretrained"}, pipeline - params
    assert "profiles" in (ROOT / "nextflow.config").read_text() and (ROOT / "conf/guide.config").is_file()


def test_every_guide_step_has_a_tested_galaxy_form_and_a_pipeline_form():
    """Each numbered step names its Galaxy tools or workflows, every one of which is run in the test Galaxy
    by its own tests (test_galaxy.py: a wrapper's <test>s, a workflow's <name>-tests.yml), and its pipeline
    parameters, which test_pipeline_training_recipe and the module script tests render."""
    import xml.etree.ElementTree as ET

    import yaml

    steps = re.split(r"^## (?=\d)", GUIDE.read_text(), flags=re.M)[1:]
    assert len(steps) >= 8, "the guide's steps 0-7"
    for step in steps:
        title = step.splitlines()[0]
        galaxy = re.search(r"^- \*\*Galaxy\*\*:(.*?)(?=^- \*\*|^#|\Z)", step, flags=re.M | re.S)
        pipeline = re.search(r"^- \*\*Pipeline\*\*:(.*?)(?=^- \*\*|^#|\Z)", step, flags=re.M | re.S)
        assert galaxy and pipeline, f"step {title!r} lacks its Galaxy or pipeline form"
        tools = re.findall(r"`(helixer_[a-z0-9_]+)`", galaxy.group(1))
        workflows = re.findall(r"\*(helixer-[a-z-]+)\*", galaxy.group(1))
        assert tools or workflows, title
        for tool in tools:
            xml = ROOT / "galaxy" / ("data_manager" if tool == "helixer_fetch_model" else "") / f"{tool}.xml"
            assert ET.parse(xml).getroot().find("tests").findall("test"), tool
        for workflow in workflows:
            assert yaml.safe_load((ROOT / "workflows" / workflow / f"{workflow}-tests.yml").read_text()), workflow
        assert re.search(r"`--[a-z_]+|-profile|`nextflow", pipeline.group(1)), title
