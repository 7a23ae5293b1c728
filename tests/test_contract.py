"""Layer 3: the Galaxy wrappers, the Nextflow modules and the CLIs never drift apart."""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET

import pytest

from contract import (
    ROOT, console_scripts, galaxy_arguments, galaxy_command, galaxy_commands, galaxy_xml, module_config_args,
    module_script, parse_command_line, parser_for, render_module_script,
)

TOOLS = sorted(console_scripts())  # helixer-<tool>
GALAXY = {cmd: galaxy_xml(cmd) for cmd in TOOLS}
MODULES = {cmd: ROOT / "modules" / "helixer" / cmd.removeprefix("helixer-").replace("-", "") for cmd in TOOLS}


def _subparsers(parser) -> list:
    """A tool's sub-command parsers (helixer-train's routes), or none."""
    return [p for a in parser._actions if isinstance(a, argparse._SubParsersAction) for p in a.choices.values()]


def _options(parser) -> set[str]:
    """Every option of a tool, sub-commands included."""
    own = {s for a in parser._actions for s in a.option_strings}
    return own.union(*(_options(p) for p in _subparsers(parser)))


@pytest.mark.parametrize("command", TOOLS)
def test_every_tool_has_every_layer(command):
    tool = command.removeprefix("helixer-")
    assert GALAXY[command].exists(), f"no Galaxy wrapper for {command}"
    assert (MODULES[command] / "main.nf").exists(), f"no Nextflow module for {command}"
    for name in ("meta.yml", "environment.yml", "tests/main.nf.test"):
        assert (MODULES[command] / name).exists(), f"module of {command} lacks {name}"
    rows = [line.split("\t")[0] for line in (ROOT / "tools/tools.tsv").read_text().splitlines()]
    assert tool in rows, f"no container row for {command} in tools/tools.tsv"


@pytest.mark.parametrize("command", TOOLS)
def test_cli_has_help_version_threads(command, capsys):
    parser = parser_for(command)
    assert parser.prog == command
    for p in _subparsers(parser) or [parser]:  # every route of a tool with sub-commands
        assert {"--help", "--version", "--threads", "--quiet", "--verbose"} <= _options(p)
        for action in p._actions:
            assert action.help, f"{p.prog} {action.option_strings} has no help text"


@pytest.mark.parametrize("command", TOOLS)
def test_galaxy_arguments_exist_in_cli(command):
    options = _options(parser_for(command))
    declared = galaxy_arguments(GALAXY[command])
    assert declared
    assert [a for a in declared if a not in options] == []


@pytest.mark.parametrize("command,case", [(c, i) for c in TOOLS for i, _ in galaxy_commands(GALAXY[c])])
def test_galaxy_command_parses_with_cli(command, case):
    line = dict(galaxy_commands(GALAXY[command]))[case]
    name, args = parse_command_line(line)
    assert name == command
    assert args.threads == 4  # ${GALAXY_SLOTS} reaches --threads
    output = str(getattr(args, "output", "/out/"))
    discovered = {d.get("directory") for d in ET.parse(GALAXY[command]).getroot().iter("discover_datasets")}
    # a Galaxy output dataset, or a file in a folder the wrapper collects outputs from
    assert "/out/" in output or output.split("/")[0] in discovered - {None}, output


def _train_steps():
    import json

    for ga in sorted(ROOT.glob("workflows/*/*.ga")):
        steps = json.loads(ga.read_text())["steps"].values()
        routes = next(json.loads(s["tool_state"])["restrictions"] for s in steps if s["label"] == "Route"
                      ) if any(s["label"] == "Route" for s in steps) else []
        for step in steps:
            if step.get("tool_id") == "helixer_train":
                yield ga.parent.name, json.loads(step["tool_state"]), step["input_connections"], routes


@pytest.mark.parametrize("workflow,state,connections,routes", [pytest.param(*t, id=t[0]) for t in _train_steps()])
def test_workflow_train_step_carries_the_recipe(workflow, state, connections, routes):
    """Each route a fine-tune workflow offers renders, through the train wrapper, into a helixer-train command
    with the fine-tuning guide's class and transition weights (the recipe the workflows promise)."""
    assert routes and "route|route" in connections and "route|model_source|pretrained" in connections
    for route in routes:
        test = ET.Element("test")
        cond = ET.SubElement(test, "conditional", name="route")
        ET.SubElement(cond, "param", name="route", value=route)
        ET.SubElement(ET.SubElement(cond, "conditional", name="model_source"), "param", name="pretrained", value="pretrained.h5")
        for name in ("training", "validation"):
            ET.SubElement(test, "param", name=name, value=f"{name}.h5")
        section = ET.SubElement(test, "section", name="optimisation")
        for key, value in state["optimisation"].items():
            ET.SubElement(section, "param", name=key, value=str(value))
        name, args = parse_command_line(galaxy_command(GALAXY["helixer-train"], test))
        assert (name, args.route, args.pretrained) == ("helixer-train", route, "pretrained.h5")
        assert list(args.class_weights) == [0.7, 1.6, 1.2, 1.2] and list(args.transition_weights) == [1, 12, 3, 1, 12, 3]
        assert args.learning_rate is None  # the route's own recipe (helixer-train's ROUTE_LEARNING_RATES)


def test_galaxy_fasta2h5_renders_test_values():
    """The nested test params reach the command line (not only the defaults)."""
    commands = [parse_command_line(c)[1] for _, c in galaxy_commands(GALAXY["helixer-fasta2h5"])]
    iupac = next(a for a in commands if a.fasta == "iupac.fa.gz")
    assert (iupac.species, iupac.subsequence_length, iupac.compression) == ("Test_species", 450, "lzf")
    assert [bool(a.rename_map) for a in commands if a.fasta == "long_ids.fa"] == [True, False]


@pytest.mark.parametrize("command", TOOLS)
def test_module_script_parses_with_cli(command):
    main_nf = MODULES[command] / "main.nf"
    process = re.search(r"^process\s+(\w+)", main_nf.read_text(), re.M).group(1)
    assert process == "HELIXER_" + command.removeprefix("helixer-").replace("-", "").upper()
    ext_args = module_config_args(MODULES[command] / "tests" / "nextflow.config", process)
    values = {"args": ext_args, "prefix": "sample", "task.cpus": "3", "species": "Mpusilla", "meta.id": "sample",
              "fasta": "genome.fa", "gff3": "genes.gff3", "db": "genome.sqlite3", "h5_arg": "--h5 genome.h5",
              "h5": "genome.h5", "bams": "a.bam b.bam", "strand_flag": "--second-read-is-sense-strand",
              "route": "head", "model_arg": "--pretrained model.h5", "training": "training1/training_data.h5 training2/training_data.h5",
              "validation": "validation1/validation_data.h5", "model": "model.h5",
              "labels": "labels.h5", "predictions": "a.predictions.h5 b.predictions.h5",
              "predictions_h5": "predictions.h5", "map_arg": "--rename-map sample.rename_map.tsv",
              "base_args": "--labels labels.h5 --predictions a.h5 b.h5 --plot sample.evaluation.png",
              "gene_args": "--reference ref.gff3 --gff3 a.gff3 b.gff3", "names_arg": "--names pretrained tuned",
              "regions_arg": "--regions validation_data.h5", "which": "--lineage land_plant",
              "list": "--model-list model_list.csv", "bams_first": "a.bam b.bam", "output_first": "sample.coverage.h5",
              "appended": ""}
    name, args = parse_command_line(render_module_script(module_script(main_nf), values))
    assert name == command
    assert args.threads == 3
    if ext_args:  # ext.args really reaches the tool
        assert "--subsequence-length" not in ext_args or args.subsequence_length == int(
            re.search(r"--subsequence-length (\d+)", ext_args).group(1))


def test_module_render_catches_unknown_variables():
    with pytest.raises(KeyError, match="undeclared"):
        render_module_script("tool --x ${undeclared}", {})
