"""Layer 4: planemo lint, every wrapper's own <tests> run in a real Galaxy server on 127.0.0.1, and the
IWC-style workflows under workflows/ linted (planemo workflow_lint --iwc) and tested (planemo test) in it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from galaxy_server import GALAXY_DIR, GalaxyServer, data_manager_files, galaxy_venv, tool_files

REQUIRE = os.environ.get("HELIXER_TOOLS_REQUIRE_GALAXY") == "1"
WORKFLOWS = sorted(p for p in (GALAXY_DIR.parent / "workflows").iterdir() if p.is_dir())
PLANEMO = shutil.which("planemo") or str(Path(os.sys.executable).parent / "planemo")


def _cases() -> list[tuple[str, int]]:
    cases = []
    for path in tool_files() + data_manager_files():
        root = ET.parse(path).getroot()
        cases += [(root.get("id"), i) for i, _ in enumerate(root.iter("test"))]
    return cases


def test_every_tool_has_tests():
    assert tool_files(), "no Galaxy wrappers found"
    ids = {tool for tool, _ in _cases()}
    assert ids == {ET.parse(p).getroot().get("id") for p in tool_files() + data_manager_files()}
    assert [p.name for p in data_manager_files()] == ["helixer_fetch_model.xml"]


def test_planemo_lint_clean():
    planemo = shutil.which("planemo") or str(Path(os.sys.executable).parent / "planemo")
    proc = subprocess.run([planemo, "lint", "--skip", "BioToolsValid", "--fail_level", "warn", str(GALAXY_DIR),
                           *map(str, data_manager_files())], capture_output=True, text=True)
    assert proc.stdout.count("Linting tool") == len(tool_files()) + len(data_manager_files()), proc.stdout
    problems = [line for line in proc.stdout.splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def galaxy(tmp_path_factory):
    venv = galaxy_venv()
    if venv is None:
        if REQUIRE:
            pytest.fail("HELIXER_TOOLS_REQUIRE_GALAXY=1 but no Galaxy venv in $HELIXER_TOOLS_GALAXY_VENV")
        pytest.skip("no Galaxy installed (run scripts/setup.sh --galaxy, or scripts/test.sh)")
    server = GalaxyServer(venv, tmp_path_factory.mktemp("galaxy"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def galaxy_results(galaxy):
    cache: dict[str, list[dict]] = {}

    def get(tool_id: str) -> list[dict]:
        if tool_id not in cache:
            cache[tool_id] = galaxy.run_tool_tests(tool_id)
        return cache[tool_id]

    return get


@pytest.mark.galaxy
@pytest.mark.parametrize("tool_id,index", _cases(), ids=lambda v: str(v))
def test_wrapper_test_passes_in_galaxy(galaxy_results, tool_id, index):
    results = galaxy_results(tool_id)
    by_index = {r["data"].get("test_index", i): r for i, r in enumerate(results)}
    assert index in by_index, f"{tool_id} test {index + 1} did not run: {results}"
    data = by_index[index]["data"]
    assert data["status"] == "success", f"{tool_id} test {index + 1}: {data.get('problem_log') or data}"


def test_workflows_in_iwc_layout():
    assert [w.name for w in WORKFLOWS] == ["helixer-annotate", "helixer-annotate-released", "helixer-annotate-rnaseq",
                                           "helixer-finetune-pseudolabels", "helixer-finetune-pseudolabels-without-rnaseq",
                                           "helixer-finetune-reference", "helixer-finetune-reference-without-rnaseq"]
    for w in WORKFLOWS:
        names = {p.name for p in w.iterdir()}
        assert {f"{w.name}.ga", f"{w.name}-tests.yml", "README.md", "CHANGELOG.md", ".dockstore.yml"} <= names, w
        ga = json.loads((w / f"{w.name}.ga").read_text())
        assert ga["license"] == "GPL-3.0-or-later" and ga["creator"] and ga["annotation"] and ga["release"]
        for step in ga["steps"].values():  # readable labels and a note on every step, as IWC reviewers ask
            assert step["label"] and (step.get("annotation") or step["type"] != "tool"), (w.name, step["label"])


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_lint_iwc_clean(workflow):
    proc = subprocess.run([PLANEMO, "workflow_lint", "--iwc", str(workflow)], capture_output=True, text=True)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr


@pytest.mark.galaxy
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_in_galaxy(galaxy, workflow, tmp_path):
    """planemo test of the workflow's own test cases against the test Galaxy (an external engine: the
    local tool ids need no ToolShed); the assertions in <name>-tests.yml check real content."""
    report = tmp_path / "report.json"
    proc = subprocess.run([PLANEMO, "test", "--engine", "external_galaxy", "--galaxy_url", galaxy.url,
                           "--galaxy_user_key", galaxy.user_key, "--test_output_json", str(report),
                           str(workflow / f"{workflow.name}.ga")], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "HOME": str(tmp_path)}, timeout=1800)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    tests = json.loads(report.read_text())["tests"]
    assert tests and all(t["data"]["status"] == "success" for t in tests), \
        [(t["data"].get("status"), t["data"].get("problem_log"), t["data"].get("output_problems")) for t in tests]
    assert proc.returncode == 0, proc.stdout[-3000:]
