"""Layer 6: the bioconda recipe renders and matches pyproject; Dockerfiles pass hadolint;
versions agree across pyproject, Galaxy, Nextflow and the recipe."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml

from contract import ROOT, console_scripts, galaxy_xml
from helixer_tools import __version__

DOCKERFILE = ROOT / "tools/Dockerfile"
TOOLS_TSV = ROOT / "tools/tools.tsv"


def render_recipe(name: str = "helixer-tools") -> dict:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def pin_subpackage(name, max_pin=None, exact=False):
        return f"{name} {'==' + __version__ if exact else 'x.x pin ' + str(max_pin)}"

    text = (ROOT / "conda-recipe" / name / "meta.yaml").read_text()
    rendered = env.from_string(text).render(pin_subpackage=pin_subpackage, PYTHON="python", python_min="3.11",
                                            environ={})
    return yaml.safe_load(rendered)


def test_recipe_renders_with_version_and_licence():
    recipe = render_recipe()
    assert recipe["package"]["version"] == __version__
    assert recipe["about"]["license"] == "GPL-3.0-or-later"
    assert (ROOT / "conda-recipe/helixer-tools" / recipe["source"]["path"] / recipe["about"]["license_file"]).resolve() == (ROOT / "LICENSE")
    assert "biotools:helixer" in recipe["extra"]["identifiers"]


def test_recipe_has_one_output_per_tool_with_pyproject_entry_points():
    outputs = {o["name"]: o for o in render_recipe()["outputs"]}
    scripts = console_scripts()
    entry_points = {}
    for command, target in scripts.items():
        output = outputs[f"helixer-tools-{command.removeprefix('helixer-')}"]
        assert output["build"]["entry_points"] == [f"{command} = {target}"]
        assert f"{command} --help" in output["test"]["commands"]
        assert f"helixer-tools-core =={__version__}" in output["requirements"]["run"]
        entry_points[command] = target
        assert output["build"]["run_exports"][0].endswith("x.x pin x.x")
    assert entry_points == scripts
    assert "entry_points" not in outputs["helixer-tools-core"]["build"]
    meta_runs = outputs["helixer-tools"]["requirements"]["run"]
    assert all(f"helixer-tools-{c.removeprefix('helixer-')} =={__version__}" in meta_runs for c in scripts)


def test_geenuff_recipe_matches_what_the_project_pins():
    import tomllib

    recipe = render_recipe("rare-geenuff")
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["geenuff"]
    version = next(d for d in extra if d.startswith("rare-geenuff==")).split("==")[1]
    assert recipe["package"]["version"] == version
    assert re.fullmatch(r"[0-9a-f]{64}", recipe["source"]["sha256"])
    assert recipe["source"]["url"].endswith(f"rare_geenuff-{version}.tar.gz")
    run = recipe["requirements"]["run"]
    assert "pandas <3" in run and "sqlalchemy >=1.3.12,<2" in run
    outputs = {o["name"]: o for o in render_recipe()["outputs"]}
    assert f"rare-geenuff {version}" in outputs["helixer-tools-import2geenuff"]["requirements"]["run"]


def test_recipe_core_has_no_heavy_dependencies():
    core = {o["name"]: o for o in render_recipe()["outputs"]}["helixer-tools-core"]
    run = " ".join(core["requirements"]["run"])
    assert "tensorflow" not in run and "pysam" not in run


def test_versions_agree():
    macros = (ROOT / "galaxy/macros.xml").read_text()
    assert re.search(r'<token name="@TOOL_VERSION@">([^<]+)</token>', macros).group(1) == __version__
    nf_config = (ROOT / "nextflow.config").read_text()
    assert f"version         = '{__version__}'" in nf_config
    assert f'org.opencontainers.image.version="{__version__}"' in DOCKERFILE.read_text()


def test_one_dockerfile_passes_hadolint_on_the_biocontainers_base():
    hadolint = Path(sys.executable).parent / "hadolint"
    proc = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = DOCKERFILE.read_text()
    assert "FROM quay.io/bioconda/base-glibc-busybox-bash:" in text and "FROM quay.io/bioconda/create-env:" in text
    assert not list(ROOT.glob("tools/*/Dockerfile"))  # no per-tool copies


def _container_rows() -> dict[str, tuple[list[str], list[str]]]:
    rows = {}
    for line in TOOLS_TSV.read_text().splitlines():
        if line and not line.startswith("#"):
            tool, conda, pypi = line.split("\t")
            rows[tool] = (conda.split(), pypi.split())
    return rows


def test_container_packages_cover_the_recipe_outputs():
    """tools/tools.tsv names, for each tool, every run requirement of its recipe output (pinned)."""
    rows = _container_rows()
    outputs = {o["name"]: o for o in render_recipe()["outputs"]}
    assert sorted(rows) == sorted(c.removeprefix("helixer-") for c in console_scripts())
    for tool, (conda, pypi) in rows.items():
        named = {re.split(r"[=<>]", p)[0] for p in conda + pypi}
        assert all(re.fullmatch(r"[a-z0-9-]+=[0-9.]+", p) for p in conda), (tool, conda)
        for requirement in outputs[f"helixer-tools-{tool}"]["requirements"]["run"]:
            name = requirement.split()[0]
            assert name in named | {"python", "helixer-tools-core"}, (tool, requirement)


@pytest.mark.parametrize("tool", sorted(_container_rows()))
def test_dockerfile_build_step_installs_the_tools_packages(tool, tmp_path):
    """The build step's shell, run with create-env, env-execute and the source path stubbed: it picks the
    tool's row, hands its packages to create-env, installs its PyPI packages and checks its command."""
    text = DOCKERFILE.read_text()
    run = re.search(r"^RUN (.*?[^\\])$", text, re.S | re.M).group(1).replace("\\\n", "")
    log = tmp_path / "log"
    for name in ("create-env-execute", "env-execute"):
        (tmp_path / name).write_text(f'#!/bin/sh\necho {name} "$@" >> {log}\n')
        (tmp_path / name).chmod(0o755)
    script = (run.replace("/opt/create-env/env-execute", str(tmp_path / "create-env-execute"))
              .replace("/usr/local/env-execute", str(tmp_path / "env-execute")).replace("/src", str(ROOT)))
    proc = subprocess.run(["sh", "-c", script], env={"TOOL": tool, "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    lines = log.read_text().splitlines()
    conda, pypi = _container_rows()[tool]
    assert lines[0].startswith("create-env-execute create-env --conda=mamba") and lines[0].endswith(
        " ".join(["tqdm=4.67.1", *conda]))
    assert any(line.endswith("--no-deps --no-cache-dir " + " ".join(pypi)) for line in lines) == bool(pypi)
    assert lines[-1] == f"env-execute helixer-{tool} --version"


@pytest.mark.parametrize("tool,message", [("", "set --build-arg TOOL="), ("nope", "TOOL=nope is not in tools/tools.tsv")])
def test_dockerfile_build_step_refuses_a_missing_or_unknown_tool(tool, message, tmp_path):
    run = re.search(r"^RUN (.*?[^\\])$", DOCKERFILE.read_text(), re.S | re.M).group(1).replace("\\\n", "")
    proc = subprocess.run(["sh", "-c", run.replace("/opt/create-env/env-execute", "false").replace("/src", str(ROOT))],
                          env={"TOOL": tool, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert proc.returncode == 1 and message in proc.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu:latest\nRUN apt-get install -y curl\n")
    hadolint = Path(sys.executable).parent / "hadolint"
    assert subprocess.run([str(hadolint), str(bad)], capture_output=True).returncode == 1


def test_galaxy_requirements_name_the_tools_recipe_output():
    from galaxy.tool_util.parser import get_tool_source

    outputs = {o["name"] for o in render_recipe()["outputs"]}
    for command in console_scripts():
        tool = command.removeprefix("helixer-")
        xml = galaxy_xml(command)
        requirements = get_tool_source(str(xml)).parse_requirements()[0]
        names = [(r.name, r.version) for r in requirements]
        assert (f"helixer-tools-{tool}", __version__) in names, (xml.name, names)
        assert f"helixer-tools-{tool}" in outputs
