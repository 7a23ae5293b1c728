"""The pipeline's wiring, checked statically (Nextflow cannot run here): main.nf and every subworkflow under
subworkflows/ are read as Nextflow would resolve them, and for every process or subworkflow they call:

- the include resolves to a file that defines it (process or workflow);
- the call passes as many channels as the process declares inputs (or the subworkflow takes);
- where the items of an argument can be read (a final ``.map { ... -> [ a, b, ... ] }``, directly or through
  one variable assigned so, or a subworkflow's take whose comment gives its items as ``// [ a, b ]``), they
  have as many elements as the input tuple, and none is named as another position's input (swapped);
- every ``X.out.name`` names an emit of X.

What this cannot check: the shape of channels built from parameters (``channel.fromList``) or by other
operators (join, combine, branch), closure destructuring against the items that actually arrive, and
anything decided at run time; nor does it run the pipeline. The module scripts themselves are run by
test_module_scripts.py, the tools' command lines by the contract tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

PIPELINE_FILES = [ROOT / "main.nf", *sorted(ROOT.glob("subworkflows/**/*.nf"))]


def strip_comments(text: str) -> str:
    """Groovy text without // and /* */ comments (quotes respected)."""
    out, i, n, quote = [], 0, len(text), None
    while i < n:
        c = text[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if text.startswith(quote, i):
                out.append(text[i + 1:i + len(quote)])
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if text.startswith('"""', i) or text.startswith("'''", i):
            quote = text[i:i + 3]
            out.append(quote)
            i += 3
            continue
        if c in "'\"":
            quote = c
            out.append(c)
            i += 1
            continue
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def split_top(text: str) -> list[str]:
    """Split at commas outside brackets, braces, parentheses and quotes."""
    parts, depth, cur, quote = [], 0, [], None
    for c in text:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0 and not quote:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def matching(text: str, start: int) -> int:
    """Index just after the bracket that closes the one at ``start``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack, quote, i = [], None, start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in pairs:
            stack.append(pairs[c])
        elif stack and c == stack[-1]:
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced bracket at {start}")


def section(body: str, name: str, ends: tuple[str, ...]) -> str:
    m = re.search(rf"(?m)^\s*{name}:\s*$", body)
    if not m:
        return ""
    rest = body[m.end():]
    stops = [s.start() for e in ends if (s := re.search(rf"(?m)^\s*{e}:\s*$", rest))]
    return rest[:min(stops)] if stops else rest


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _element_name(element: str) -> str | None:
    """The name an input tuple element or a take comment's element stands for: `path(gff3, stageAs: ..)`,
    `val(meta)`, `meta(id, species)`, `gff3 or []`."""
    m = re.match(r"\s*(?:val|path|env|stdin)\s*\(\s*(\w+)", element) or re.match(r"\s*(\w+)", element)
    return m.group(1) if m else None


def definitions(path: Path) -> dict[str, dict]:
    """Processes and named workflows of a file: name -> kind, inputs (per input: the element names of its
    tuple, or None when it is not a tuple or its shape is not known), takes (name -> element names), emits."""
    text = strip_comments(path.read_text())
    raw = path.read_text()
    out = {}
    for m in re.finditer(r"(?m)^(process|workflow)\s+(\w+)\s*\{", text):
        kind, name = m.groups()
        body = text[m.end() - 1:matching(text, m.end() - 1)]
        takes = {}
        if kind == "process":
            lines = [l.strip() for l in section(body, "input", ("output", "when", "script", "exec")).splitlines() if l.strip()]
            inputs = [[_element_name(e) for e in split_top(l[len("tuple"):].strip())] if l.startswith("tuple") else None
                      for l in lines]
            emits = re.findall(r"emit:\s*(\w+)", section(body, "output", ("when", "script", "exec", "stub")))
        else:  # a take's tuple, from its comment: `ch_x  // [ meta, fasta ]: ...`
            raw_body = raw[raw.index(m.group(0)):]
            inputs = []
            for line in section(raw_body, "take", ("main",)).splitlines():
                if not line.split("//")[0].strip():
                    continue
                shape = re.match(r"\s*(\w+)\s*//\s*(\[.*)", line)
                names = None
                if shape:
                    listed = shape.group(2)
                    names = [_element_name(e) for e in split_top(listed[1:matching(listed, 0) - 1])]
                    takes[shape.group(1)] = names
                inputs.append(names)
            emits = [l.split("=")[0].strip() for l in section(body, "emit", ()).splitlines() if "=" in l]
            emits = [e for e in emits if re.fullmatch(r"\w+", e)]
        out[name] = {"kind": kind, "inputs": inputs, "takes": takes, "emits": emits, "body": body}
    return out


def includes(path: Path) -> dict[str, tuple[str, Path]]:
    """alias -> (name defined, file) for a file's includes (plugins left out)."""
    text = strip_comments(path.read_text())
    out = {}
    for m in re.finditer(r"include\s*\{([^}]*)\}\s*from\s*'([^']+)'", text):
        names, source = m.groups()
        if source.startswith("plugin/"):
            continue
        target = (path.parent / source).resolve()
        target = target if target.suffix == ".nf" else target.with_suffix(".nf")
        for item in names.split(";"):
            parts = item.split()
            if parts:
                out[parts[-1]] = (parts[0], target)
    return out


def last_map_items(expr: str) -> list[str] | None:
    """The elements of the list a trailing ``.map { ... -> [ ... ] }`` returns, or None when the expression
    does not end so."""
    m = None
    for m in re.finditer(r"\.map\s*\{", expr):
        pass
    if m is None:
        return None
    close = matching(expr, m.end() - 1)
    if expr[close:].strip():
        return None
    closure = expr[m.end():close - 1]
    body = closure.split("->", 1)[1] if "->" in closure else closure
    body = body.strip()
    if not (body.startswith("[") and matching(body, 0) == len(body)):
        return None
    return split_top(body[1:-1])


def shape_of(arg: str, assignments: dict[str, str], takes: dict[str, list]) -> list[str | None] | None:
    """Element names of the items a channel argument carries, where they can be read: a final ``.map``
    building a list (directly or through one variable), or a take with its shape in a comment."""
    items = last_map_items(arg)
    if items is None and re.fullmatch(r"\w+", arg):
        if arg in takes:
            return takes[arg]
        if arg in assignments:
            items = last_map_items(assignments[arg].strip())
    return None if items is None else [e if re.fullmatch(r"\w+", e) else None for e in items]


def calls(path: Path):
    """(file, caller body, alias, arguments) for every call of an included process or subworkflow."""
    incs = includes(path)
    text = strip_comments(path.read_text())
    for m in re.finditer(r"(?<![\w.])(\w+)\s*\(", text):
        alias = m.group(1)
        if alias not in incs:
            continue
        if re.search(r"include\s*\{[^}]*$", text[:m.start()]):
            continue
        end = matching(text, m.end() - 1)
        yield alias, split_top(text[m.end():end - 1]), text


def _checks():
    for path in PIPELINE_FILES:
        for alias, (name, target) in includes(path).items():
            yield path, alias, name, target


@pytest.mark.parametrize("path,alias,name,target", list(_checks()),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_include_resolves(path, alias, name, target):
    assert target.is_file(), f"{_shown(path)}: include {alias} from {target}: no such file"
    assert name in definitions(target), f"{_shown(path)}: {target} defines no process or workflow {name}"


def _call_cases():
    for path in PIPELINE_FILES:
        incs = includes(path)
        for alias, args, _ in calls(path):
            yield path, alias, incs[alias], args


@pytest.mark.parametrize("path,alias,source,args", list(_call_cases()),
                         ids=lambda v: v.name if isinstance(v, Path) else (v if isinstance(v, str) else ""))
def test_call_matches_inputs(path, alias, source, args):
    name, target = source
    definition = definitions(target)[name]
    inputs = definition["inputs"]
    assert len(args) == len(inputs), (f"{_shown(path)}: {alias} is called with {len(args)} channels, "
                                      f"{target.relative_to(ROOT)} {name} declares {len(inputs)} inputs")
    assignments = dict(re.findall(r"(?m)^\s*(\w+)\s*=\s*(.+(?:\n\s+\..+)*)", strip_comments(path.read_text())))
    takes = {k: v for d in definitions(path).values() for k, v in d["takes"].items()}
    for i, (arg, declared) in enumerate(zip(args, inputs)):
        if declared is None:
            continue
        given = shape_of(arg, assignments, takes)
        if given is None:
            continue
        assert len(given) == len(declared), (f"{_shown(path)}: {alias} input {i + 1} gets items of {len(given)} "
                                             f"elements, {name} declares a tuple of {len(declared)}")
        for j, element in enumerate(given):  # an element named as another position's input: swapped
            if element and element != declared[j] and element in declared:
                raise AssertionError(f"{_shown(path)}: {alias} input {i + 1}, element {j + 1} is {element}, where "
                                     f"{name} declares {declared[j]} ({element} is element {declared.index(element) + 1})")


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_out_names_an_emit(path):
    incs = includes(path)
    text = strip_comments(path.read_text())
    used = re.findall(r"(?<![\w.])(\w+)\.out\.(\w+)", text)
    assert used, f"{path.name} uses no process output"
    for alias, emit in used:
        assert alias in incs, f"{_shown(path)}: {alias}.out.{emit}: {alias} is not included"
        name, target = incs[alias]
        emits = definitions(target)[name]["emits"]
        assert emit in emits, f"{_shown(path)}: {alias}.out.{emit}: {name} emits {emits}"


def test_every_module_and_subworkflow_is_used():
    called = {source for path in PIPELINE_FILES for alias, source in includes(path).items()}
    modules = {p for p in [*ROOT.glob("modules/*/*/main.nf")]}
    assert {target for _, target in called} >= modules | set(ROOT.glob("subworkflows/local/*/main.nf"))


def test_the_checks_catch_miswiring(tmp_path):
    """A call with a channel too few, a map building a tuple of the wrong size, an emit that does not exist
    and a tuple in another order than the process's are each found."""
    (tmp_path / "modules").symlink_to(ROOT / "modules")
    wf = tmp_path / "sub.nf"
    wf.write_text("include { HELIXER_POST } from './modules/helixer/post/main'\n"
                  "workflow X {\n take:\n ch\n main:\n"
                  " HELIXER_POST(ch.map { meta, h5, p -> [ meta, h5, p ] }, 1)\n"
                  " emit:\n gff3 = HELIXER_POST.out.gff\n}\n")
    (alias, args, _), = list(calls(wf))
    source = includes(wf)[alias]
    with pytest.raises(AssertionError, match="called with 2 channels, .* declares 1 inputs"):
        test_call_matches_inputs(wf, alias, source, args)
    with pytest.raises(AssertionError, match="gets items of 3 elements, HELIXER_POST declares a tuple of 4"):
        test_call_matches_inputs(wf, alias, source, args[:1])
    with pytest.raises(AssertionError, match=r"HELIXER_POST.out.gff: HELIXER_POST emits \['gff3', 'stats'"):
        test_every_out_names_an_emit(wf)
    # a take (its shape in a comment) passed on with its elements in another order than the process's
    wf.write_text("include { HELIXER_IMPORT2GEENUFF } from './modules/helixer/import2geenuff/main'\n"
                  "workflow X {\n take:\n ch_annotated  // [ meta, fasta, gff3 ]\n main:\n"
                  " HELIXER_IMPORT2GEENUFF(ch_annotated)\n emit:\n db = HELIXER_IMPORT2GEENUFF.out.db\n}\n")
    (alias, args, _), = list(calls(wf))
    with pytest.raises(AssertionError, match="element 2 is fasta, where HELIXER_IMPORT2GEENUFF declares gff3"):
        test_call_matches_inputs(wf, alias, includes(wf)[alias], args)
