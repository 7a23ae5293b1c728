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

from contract import ROOT, console_scripts
from helixer_tools import __version__

DOCKERFILES = sorted(ROOT.glob("tools/*/Dockerfile"))


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
    for dockerfile in DOCKERFILES:
        assert f'org.opencontainers.image.version="{__version__}"' in dockerfile.read_text()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile):
    hadolint = Path(sys.executable).parent / "hadolint"
    proc = subprocess.run([str(hadolint), str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_uses_biocontainers_base_and_installs_its_command(dockerfile):
    text = dockerfile.read_text()
    assert "FROM quay.io/bioconda/base-glibc-busybox-bash:" in text
    assert f"helixer-{dockerfile.parent.name} --version" in text


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
        xml = ROOT / "galaxy" / f"helixer_{tool.replace('-', '_')}.xml"
        requirements = get_tool_source(str(xml)).parse_requirements()[0]
        names = [(r.name, r.version) for r in requirements]
        assert (f"helixer-tools-{tool}", __version__) in names, (xml.name, names)
        assert f"helixer-tools-{tool}" in outputs
