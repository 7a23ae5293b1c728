"""Every module's script really runs: rendered as Nextflow would render it for each of its nf-test cases
(tests/nextflow/render_module.groovy: the test's inputs staged by name or stageAs pattern, meta, ext.args
from the module's test config and task.cpus bound, the script block's Groovy evaluated by Groovy 4), then
executed with bash and the real tool on bundled data in a fresh work folder; every file pattern of the
module's output: block must then match (optional ones may be absent). A module whose emit glob misses the
tool's output, whose script passes an option the tool does not have, or whose test feeds it the wrong
file, fails here. What Nextflow itself adds (containers, channels, publishing) is not run."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contract import ROOT, module_config_args
from test_nextflow import _groovy_cmd

MODULES = sorted(p.parent for p in [*ROOT.glob("modules/helixer/*/main.nf"), *ROOT.glob("modules/local/*/main.nf")])
BIN = Path(sys.executable).parent
CPUS = "2"


def _render(module: Path) -> dict:
    process = re.search(r"(?m)^process\s+(\w+)", (module / "main.nf").read_text()).group(1)
    ext_args = module_config_args(module / "tests" / "nextflow.config", process)
    groovy = _groovy_cmd([])[:4]  # java -cp JARS groovy.ui.GroovyMain
    proc = subprocess.run([*groovy, str(ROOT / "tests/nextflow/render_module.groovy"), str(module / "main.nf"),
                           str(module / "tests" / "main.nf.test"), str(ROOT), ext_args, CPUS],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _run(module: Path, index: int, work: Path) -> list[str]:
    """Run one nf-test case's rendered script in ``work``; the output patterns that match nothing."""
    rendered = _render(module)
    case = rendered["tests"][index]
    work.mkdir()
    for source, dest in case["staging"]:
        target = work / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(source)
    (work / ".command.sh").write_text(case["script"])
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-euo", "pipefail", ".command.sh"], cwd=work, capture_output=True, text=True,
                          env=env, timeout=900)
    assert proc.returncode == 0, f"{rendered['process']} ({case['test']}):\n{case['script']}\n{proc.stderr[-3000:]}"
    return [o["pattern"] for o in case["outputs"] if not o["optional"] and not glob.glob(o["pattern"], root_dir=work)]


def _cases():
    out = []
    for m in MODULES:
        text = (m / "tests" / "main.nf.test").read_text()
        out += [(m, i) for i in range(text.count('test("') - text.count('"-stub"'))]
    return out


@pytest.mark.parametrize("module,index", _cases(), ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_module_script_runs(module, index, tmp_path):
    assert _run(module, index, tmp_path / "work") == [], f"{module.name}: output patterns match nothing"


def test_a_wrong_emit_is_caught(tmp_path):
    """A module whose output glob misses what the tool writes fails the check above."""
    module = tmp_path / "modules" / "helixer" / "fasta2h5"
    shutil.copytree(ROOT / "modules/helixer/fasta2h5", module)
    main = module / "main.nf"
    main.write_text(main.read_text().replace('path("*.rename_map.tsv")', 'path("*.renamed.tsv")'))
    assert _run(module, 0, tmp_path / "work") == ["*.renamed.tsv"]


def test_add_coverage_appends_one_run_per_strandedness(tmp_path):
    """A genome with libraries of two kinds (meta.strandedness one per BAM): the module adds each run of one
    kind in its own helixer-add-coverage step, appended, as the guide runs add_ngs_coverage once per
    strandedness; the columns keep the BAMs' order and the intermediate file is gone."""
    import h5py

    module = ROOT / "modules/helixer/addcoverage"
    rendered = _render(module)
    index = next(i for i, t in enumerate(rendered["tests"]) if "two strandedness groups" in t["test"])
    assert rendered["tests"][index]["script"].count("helixer-add-coverage") == 2
    work = tmp_path / "work"
    assert _run(module, index, work) == []
    with h5py.File(work / "micromonas.coverage.h5") as f:
        described = json.loads(f["evaluation/rnaseq_coverage"].attrs["helixer_tools_columns"])
    assert [d["strandedness"] for d in described] == ["second", "unstranded"]
    assert [d["name"] for d in described] == ["micromonas_small.rnaseq.bam", "micromonas_small.half.bam"]
    assert not list(work.glob("*.part*.h5"))
