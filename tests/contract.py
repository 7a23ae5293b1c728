"""Render what Galaxy and Nextflow would run, so tests can parse it with the tools' own argparse parsers."""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def console_scripts() -> dict[str, str]:
    """pyproject's [project.scripts]: command -> 'module:function'."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def parser_for(command: str):
    module, _ = console_scripts()[command].split(":")
    return importlib.import_module(module).build_parser()


def parse_command_line(line: str):
    """Split a rendered command line and parse its arguments with the named tool's parser."""
    argv = shlex.split(line)
    return argv[0], parser_for(argv[0]).parse_args(argv[1:])


# ---------------------------------------------------------------- Galaxy

class _Node(dict):
    """Sections and conditionals: Cheetah reaches their members by attribute."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __str__(self):  # a conditional's test param used as a value
        return str(next(iter(self.values()), ""))


class _Dataset(str):
    """A data input as Cheetah sees it: its path, plus the attributes wrappers use."""

    def __new__(cls, path: str):
        obj = super().__new__(cls, path)
        obj.element_identifier = path.rsplit("/", 1)[-1]
        obj.metadata = _Node(bam_index=f"{path}.bai")
        obj.ext = path.rsplit(".", 1)[-1]
        return obj


def _data_value(param: ET.Element, value: str):
    if param.get("multiple") == "true":
        return [_Dataset(v) for v in value.split(",") if v]
    return _Dataset(value)


class _Cached(str):
    """A select from a data table as a wrapper's command sees it: the value, and the row's ``fields``, from the
    test data table (galaxy/test-data/<table>.loc, with ${__HERE__} its folder)."""

    def __new__(cls, value: str, table: str):
        self = super().__new__(cls, value)
        loc = ROOT / "galaxy" / "test-data" / f"{table}.loc"
        columns = ("value", "name", "lineage", "path")  # galaxy/tool_data_table_conf.xml.sample's
        rows = [line.split("\t") for line in loc.read_text().splitlines() if line and not line.startswith("#")]
        row = next(r for r in rows if r[0] == value)
        self.fields = _Node({c: v.replace("${__HERE__}", str(loc.parent)) for c, v in zip(columns, row)})
        return self


def _default(param: ET.Element):
    kind = param.get("type")
    if kind == "select":
        options = param.findall("option")
        chosen = [o for o in options if o.get("selected") == "true"] or options[:1]
        return chosen[0].get("value") if chosen else ""
    if kind == "boolean":
        checked = param.get("checked", "false").lower() in ("true", "yes")
        return param.get("truevalue", "true") if checked else param.get("falsevalue", "false")
    return param.get("value", "")


def _name(param: ET.Element) -> str:
    return param.get("name") or param.get("argument").lstrip("-").replace("-", "_")


def _values(container: ET.Element, test: ET.Element | None) -> _Node:
    """Input values of a (macro-expanded) <inputs> level, overridden by a <test>'s nested params."""
    given = {}
    if test is not None:
        for child in test:
            if child.tag == "param":
                given[child.get("name")] = child
            elif child.tag in ("section", "conditional"):
                given[child.get("name")] = child
    values = _Node()
    for el in container:
        if el.tag == "param":
            name = _name(el)
            override = given.get(name)
            value = override.get("value") if override is not None else _default(el)
            if el.get("type") == "boolean" and override is not None:
                truthy = value.lower() in ("true", "yes")
                value = el.get("truevalue", "true") if truthy else el.get("falsevalue", "false")
            if el.get("type") == "data":
                value = _data_value(el, value or "")
            options = el.find("options")
            if options is not None and options.get("from_data_table") and value:
                value = _Cached(value, options.get("from_data_table"))
            values[name] = value
        elif el.tag == "section":
            values[el.get("name")] = _values(el, given.get(el.get("name")))
        elif el.tag == "conditional":
            sub = given.get(el.get("name"))
            test_param = el.find("param")
            tname = _name(test_param)
            chosen = _default(test_param)
            if sub is not None:
                p = sub.find(f"param[@name='{tname}']")
                chosen = p.get("value") if p is not None else chosen
            node = _Node({tname: chosen})
            for when in el.findall("when"):
                if when.get("value") == chosen:
                    node.update(_values(when, sub))
            values[el.get("name")] = node
    return values


def galaxy_xml(command: str) -> Path:
    """A tool's Galaxy wrapper: galaxy/helixer_<tool>.xml; helixer-fetch-model's is a data manager."""
    name = f"helixer_{command.removeprefix('helixer-').replace('-', '_')}.xml"
    return ROOT / "galaxy" / ("data_manager" if command == "helixer-fetch-model" else "") / name


class _Output(str):
    """An output dataset as a wrapper's command sees it: its path, and its folder of extra files."""

    @property
    def extra_files_path(self) -> str:
        return self.removesuffix(".dat") + "_files"


def galaxy_commands(xml_path: Path) -> list[tuple[int, str]]:
    """The command line Galaxy renders for each <test> of a wrapper (outputs named after themselves)."""
    from galaxy.tool_util.parser import get_tool_source

    source = get_tool_source(str(xml_path))
    return [(i, galaxy_command(xml_path, test, source))
            for i, test in enumerate(source.root.find("tests").findall("test"))]


def galaxy_command(xml_path: Path, test: ET.Element, source=None) -> str:
    """The command line Galaxy renders for one <test>-shaped element of a wrapper (outputs named after
    themselves): a wrapper's own test, or one built from a workflow step's state."""
    from galaxy.tool_util.parser import get_tool_source
    from galaxy.util.template import fill_template

    source = source or get_tool_source(str(xml_path))
    root = source.root
    context = dict(_values(root.find("inputs"), test))
    context.update({d.get("name"): _Output(f"/out/{d.get('name')}.dat") for d in root.find("outputs").iter("data")})
    context.update({c.get("name"): f"/config/{c.get('name')}" for c in root.iter("configfile")})
    context["__tool_directory__"] = str(xml_path.parent)
    rendered = fill_template(source.parse_command(), context=context,
                             python_template_version=source.parse_python_template_version())
    rendered = rendered.replace("\\${GALAXY_SLOTS:-1}", "4").replace("${GALAXY_SLOTS:-1}", "4")
    # the tool's own command in a chain such as "ln -s ... && helixer-x ..."
    parts = [p.strip() for p in " ".join(rendered.split()).split("&&")]
    return next(p for p in parts if p.startswith("helixer-"))


def galaxy_arguments(xml_path: Path) -> list[str]:
    """Every argument= a wrapper's inputs declare."""
    from galaxy.tool_util.parser import get_tool_source

    return [p.get("argument") for p in get_tool_source(str(xml_path)).root.find("inputs").iter("param")
            if p.get("argument")]


# ---------------------------------------------------------------- Nextflow

_SCRIPT = re.compile(r"^\s*script:\s*\n(.*?)^\s*\"\"\"\n(.*?)^\s*\"\"\"", re.S | re.M)
_VAR = re.compile(r"\$\{([^}]+)\}|\$([A-Za-z_][A-Za-z0-9_.]*)")


def module_script(main_nf: Path) -> str:
    """The shell command inside a module's ``script:`` block (Groovy string, line continuations joined)."""
    match = _SCRIPT.search(main_nf.read_text())
    if not match:
        raise AssertionError(f"{main_nf}: no script: \"\"\" ... \"\"\" block")
    return match.group(2).replace("\\\\\n", " ")


def module_config_args(config: Path, process: str) -> str:
    """ext.args for ``process`` in a module test config (single-quoted string form)."""
    m = re.search(rf"withName:\s*'{process}'\s*\{{(.*?)\}}", config.read_text(), re.S)
    if not m:
        return ""
    args = re.search(r"ext\.args\s*=\s*'([^']*)'", m.group(1))
    return args.group(1) if args else ""


def render_module_script(script: str, values: dict[str, str]) -> str:
    """Substitute Groovy variables; an unknown variable is an error (drift between module and test)."""
    def sub(m):
        key = m.group(1) or m.group(2)
        if key not in values:
            raise KeyError(f"module script uses ${{{key}}}, which the contract test does not know")
        return values[key]

    return " ".join(_VAR.sub(sub, script).split())
