"""Layer 5: Nextflow cannot run here, so every .nf/.config file gets static checks instead:
a Groovy 4 parse, reftrace lint with our rules, include resolution, and nf-core conventions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contract import ROOT

NF_FILES = sorted(
    [ROOT / "main.nf", ROOT / "nextflow.config", *ROOT.glob("conf/*.config"), *ROOT.glob("modules/**/*.nf"),
     *ROOT.glob("modules/**/*.nf.test"), *ROOT.glob("modules/**/nextflow.config"), *ROOT.glob("subworkflows/**/*.nf"),
     *ROOT.glob("lib/*.groovy")]
)
MODULES = sorted(p.parent for p in ROOT.glob("modules/helixer/*/main.nf"))
REQUIRE = os.environ.get("HELIXER_TOOLS_REQUIRE_STATIC_TOOLS") == "1"
BIN = Path(sys.executable).parent


def _groovy_cmd(files):
    jars = os.environ.get("HELIXER_TOOLS_GROOVY_JARS")
    java = shutil.which("java")
    if not jars or not Path(jars).is_dir() or not java:
        if REQUIRE:
            pytest.fail("Groovy jars ($HELIXER_TOOLS_GROOVY_JARS) or java missing; scripts/setup.sh installs them")
        pytest.skip("no Groovy 4 jars: run scripts/setup.sh")
    return [java, "-cp", f"{jars}/*", "groovy.ui.GroovyMain", str(ROOT / "tests/nextflow/nfparse.groovy"),
            *map(str, files)]


def test_groovy4_parses_every_nextflow_file():
    proc = subprocess.run(_groovy_cmd(NF_FILES), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK ") == len(NF_FILES)


def test_groovy4_parse_catches_a_broken_file(tmp_path):
    bad = tmp_path / "bad.nf"
    bad.write_text((ROOT / "modules/helixer/fasta2h5/main.nf").read_text().replace("input:", "input: {", 1))
    proc = subprocess.run(_groovy_cmd([bad]), capture_output=True, text=True)
    assert proc.returncode == 1 and "FAIL" in proc.stdout


def _reftrace(*args, cwd=ROOT):
    return subprocess.run([str(BIN / "reftrace"), *args], capture_output=True, text=True, cwd=cwd)


def test_reftrace_lint_clean():
    proc = _reftrace("lint", "-r", str(ROOT / "tests/nextflow/reftrace_rules.py"), "-d", str(ROOT))
    assert proc.returncode == 0 and "No issues found" in proc.stdout, proc.stdout + proc.stderr


def test_reftrace_lint_catches_bad_module(tmp_path):
    text = (ROOT / "modules/helixer/fasta2h5/main.nf").read_text().replace("label 'process_low'", "label 'big'")
    (tmp_path / "main.nf").write_text(text)
    proc = _reftrace("lint", "-r", str(ROOT / "tests/nextflow/reftrace_rules.py"), "-d", str(tmp_path))
    assert proc.returncode == 1 and "non-standard labels ['big']" in proc.stdout


def test_reftrace_resolves_every_include():
    proc = _reftrace("info", "modules")
    info = json.loads(proc.stdout[proc.stdout.index("{"):])
    # plugin includes (nf-schema's validateParameters) come from Nextflow plugins, not from files
    unresolved = [(u["module_path"], i) for u in info["unresolved_includes"] for i in u["includes"]
                  if not i.startswith("plugin/")]
    assert unresolved == []
    assert {m["path"] for m in info["modules"]} >= {"main.nf"}
    assert "failed" not in proc.stdout.lower()


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_follows_nf_core_conventions(module):
    text = (module / "main.nf").read_text()
    for pattern in [r'tag "\$meta\.id"', r"label 'process_\w+'", r'conda "\$\{moduleDir\}/environment\.yml"',
                    r"workflow\.containerEngine in \['singularity', 'apptainer'\]",
                    r"def args = task\.ext\.args \?: ''", r'def prefix = task\.ext\.prefix \?: "\$\{meta\.id\}"',
                    r"task\.ext\.when == null \|\| task\.ext\.when", r"^\s*stub:", r"topic: versions",
                    r"\$\{task\.cpus\}"]:
        assert re.search(pattern, text, re.M), f"{module.name}/main.nf lacks {pattern}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_meta_documents_every_emit(module):
    text = (module / "main.nf").read_text()
    emits = set(re.findall(r"emit:\s*(\w+)", text))
    meta = yaml.safe_load((module / "meta.yml").read_text())
    assert set(meta["output"]) == emits
    assert meta["name"] == "helixer_" + module.name
    assert "versions" in meta["topics"]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_container_matches_environment(module):
    from helixer_tools import __version__

    from contract import console_scripts

    env = yaml.safe_load((module / "environment.yml").read_text())
    tool = next(c.removeprefix("helixer-") for c in console_scripts() if c.removeprefix("helixer-").replace("-", "") == module.name)
    package = f"helixer-tools-{tool}"
    assert env["channels"] == ["conda-forge", "bioconda"]
    assert env["dependencies"] == [f"bioconda::{package}={__version__}"]
    text = (module / "main.nf").read_text()
    image = f"{package}:{__version__}--pyhdfd78af_0"
    assert f"'https://depot.galaxyproject.org/singularity/{image}'" in text
    assert f"'biocontainers/{image}'" in text


# --- the parameter schema (nf-schema, JSON Schema draft 2020-12) ---------------------------------------------

def _config_params() -> dict:
    """The params block of nextflow.config: name -> default (as Groovy writes it)."""
    text = (ROOT / "nextflow.config").read_text()
    block = re.search(r"^params \{(.*?)^\}", text, re.S | re.M).group(1)
    out = {}
    for line in block.splitlines():
        m = re.match(r"\s*(\w+)\s*=\s*([^/]+?)\s*(//.*)?$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _schema_params(schema: dict) -> dict:
    return {k: v for group in schema["$defs"].values() for k, v in group["properties"].items()}


def test_nextflow_schema_is_valid_and_complete():
    import jsonschema

    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    props = _schema_params(schema)
    config = _config_params()
    assert set(props) == set(config), "params of nextflow.config and of nextflow_schema.json differ"
    for name, prop in props.items():
        assert prop.get("description"), f"{name} has no description"
        value = config[name]
        default = None if value == "null" else {"true": True, "false": False}.get(value, value.strip("'\""))
        if default is not None and prop["type"] in ("number", "integer"):
            default = {"number": float, "integer": int}[prop["type"]](default)
        assert prop.get("default") == default, f"{name}: default {prop.get('default')!r} in the schema, {value} in nextflow.config"
    assert [ref["$ref"].split("/")[-1] for ref in schema["allOf"]] == list(schema["$defs"])
    # the test profile's parameters pass the schema (paths relative to the project)
    text = (ROOT / "conf/test.config").read_text()
    test_params = dict(re.findall(r"^\s*(\w+)\s*=\s*['\"](.*?)['\"]\s*$", re.search(r"params \{(.*?)\}", text, re.S).group(1), re.M))
    test_params = {k: v.replace("${projectDir}", str(ROOT)) for k, v in test_params.items()}
    flat = {"type": "object", "properties": props}
    jsonschema.Draft202012Validator(flat).validate(test_params)
    assert list(jsonschema.Draft202012Validator(flat).iter_errors({**test_params, "route": "predict"})) != []


def test_base_config_retries_on_resources_only():
    text = (ROOT / "conf/base.config").read_text()
    assert "task.exitStatus in ((130..145) + 104) ? 'retry' : 'finish'" in text and "maxRetries    = 1" in text
    for label in ("process_single", "process_low", "process_medium", "process_high", "process_gpu"):
        assert f"withLabel: {label}" in text
    assert "resourceLimits" in (ROOT / "conf/test.config").read_text()


# --- the samplesheets (nf-schema samplesheetToList, JSON Schema draft 2020-12) -------------------------------

SHEETS = {"genomes.csv": "schema_input.json", "genomes_route1.csv": "schema_input.json",
          "genomes_unannotated.csv": "schema_input.json", "bams.csv": "schema_bams.json"}


def sheet_errors(csv_text: str, schema_name: str, root: Path = ROOT) -> list[str]:
    """What nf-schema would refuse in a samplesheet: JSON Schema errors of its rows (empty cells left out, as
    nf-schema does), files that do not exist (its `exists`, relative to the launch folder) and repeated
    values of the `uniqueEntries` columns."""
    import csv
    import io

    import jsonschema

    schema = json.loads((ROOT / "assets" / schema_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    rows = [{k: v for k, v in row.items() if v} for row in csv.DictReader(io.StringIO(csv_text))]
    errors = [f"row {list(e.path)[0] + 1 if e.path else '-'}: {e.message}"
              for e in jsonschema.Draft202012Validator(schema).iter_errors(rows)]
    props = schema["items"]["properties"]
    for i, row in enumerate(rows, 1):
        for key, value in row.items():
            if props.get(key, {}).get("exists") and not (root / value).exists():
                errors.append(f"row {i}: {key} {value} does not exist")
    for key in schema.get("uniqueEntries", []):
        values = [row.get(key) for row in rows]
        errors += [f"{key} {v} is repeated" for v in sorted({v for v in values if values.count(v) > 1})]
    return errors


@pytest.mark.parametrize("sheet", SHEETS)
def test_test_samplesheets_are_valid(sheet):
    assert sheet_errors((ROOT / "tests/samplesheets" / sheet).read_text(), SHEETS[sheet]) == []


@pytest.mark.parametrize("text,schema,message", [
    ("species,fasta,gff3,role\nAth,tests/data/athaliana_1M/chr1_1M.fa.gz,,train\n", "schema_input.json", "'train' is not one of"),
    ("species,fasta\nA.thaliana,tests/data/athaliana_1M/chr1_1M.fa.gz\n", "schema_input.json", "does not match"),
    ("species,fasta\nAth,missing.fa\n", "schema_input.json", "fasta missing.fa does not exist"),
    ("species,fasta\nAth,tests/data/athaliana_1M/chr1_1M.gff3.gz\n", "schema_input.json", "does not match"),
    ("species,fasta\nAth,tests/data/athaliana_1M/chr1_1M.fa.gz\nAth,tests/data/athaliana_20M/chr1_20M.fa.gz\n",
     "schema_input.json", "species Ath is repeated"),
    ("species,gff3\nAth,tests/data/athaliana_1M/chr1_1M.gff3.gz\n", "schema_input.json", "'fasta' is a required property"),
    ("species,bam,strandedness\nAth,tests/data/athaliana_1M/chr1_1M.rnaseq.bam,second\n", "schema_bams.json", "'second' is not one of"),
    ("species,bam\nAth,tests/data/athaliana_1M/chr1_1M.rnaseq.bam.bai\n", "schema_bams.json", "does not match"),
    ("species,bam,strandedness\n", "schema_bams.json", "should be non-empty"),
])
def test_bad_samplesheets_are_refused(text, schema, message):
    errors = sheet_errors(text, schema)
    assert any(message in e for e in errors), errors


def test_pipeline_reads_the_samplesheets_with_their_schemas():
    """main.nf reads --input and --bams with the schemas the tests check, nextflow_schema.json points nf-schema
    at the same files, and every column main.nf reads is a column of its schema."""
    text = (ROOT / "main.nf").read_text()
    assert 'samplesheetToList(params.input, "${projectDir}/assets/schema_input.json")' in text
    assert 'samplesheetToList(params.bams, "${projectDir}/assets/schema_bams.json")' in text
    props = _schema_params(json.loads((ROOT / "nextflow_schema.json").read_text()))
    assert props["input"]["schema"] == "assets/schema_input.json" and props["bams"]["schema"] == "assets/schema_bams.json"
    genomes = json.loads((ROOT / "assets/schema_input.json").read_text())["items"]["properties"]
    bams = json.loads((ROOT / "assets/schema_bams.json").read_text())["items"]["properties"]
    # samplesheetToList: the meta columns in a map first, then the others in the schema's order
    assert [k for k, v in genomes.items() if "meta" not in v] == ["fasta", "gff3"]
    assert [k for k, v in bams.items() if "meta" not in v] == ["bam"]
    lib = (ROOT / "lib/HelixerInputs.groovy").read_text()
    assert "def (meta, fasta, gff3) = row" in lib and "it[1]" in lib  # [meta, fasta, gff3] and [meta, bam]
    for key in re.findall(r"(?:it\[0\]|meta)\.(\w+)", lib):
        assert key in genomes or key in bams or key == "id", key


# --- the input checks main.nf makes (lib/HelixerInputs.groovy, run with Groovy 4) ----------------------------

def _inputs(cases: list[dict]) -> dict:
    proc = subprocess.run([*_groovy_cmd([])[:4], str(ROOT / "tests/nextflow/inputs.groovy"),
                           str(ROOT / "lib/HelixerInputs.groovy")], input=json.dumps(cases), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _row(species, role=None, gff3="g.gff3"):
    meta = {"species": species} | ({"role": role} if role else {})
    return [meta, f"{species}.fa", gff3]


def test_pipeline_inputs():
    """The genomes, their RNA-seq and the finetune route's sets, as main.nf makes them, with real values, and
    each refusal a one-line message naming what is wrong."""
    genomes = [[{"species": s, "role": r, "id": s}, f"{s}.fa", g] for s, r, g in
               [("Ath", "training", "ath.gff3"), ("Aly", "validation", "aly.gff3"), ("Cru", "test", []),
                ("Bra", "training", "bra.gff3")]]
    bams = [[{"species": "Ath", "strandedness": "reverse"}, "a1.bam"], [{"species": "Ath"}, "a2.bam"],
            [{"species": "Cru", "strandedness": "forward"}, "c1.bam"]]
    indexes = {"a1.bam": "a1.bam.bai", "a2.bam": "a2.bai", "c1.bam": "c1.bam.csi"}
    out = _inputs([
        {"name": "genomes", "call": "genomes", "args": {"rows": [_row("Ath"), _row("Cru", "test", [])]}},
        {"name": "repeated", "call": "genomes", "args": {"rows": [_row("Ath"), _row("Ath", "test")]}},
        {"name": "none", "call": "genomes", "args": {"rows": []}},
        {"name": "coverage", "call": "coverage", "args": {"genomes": genomes, "bams": bams, "indexes": indexes}},
        {"name": "unknown species", "call": "coverage",
         "args": {"genomes": genomes[:1], "bams": bams, "indexes": indexes}},
        {"name": "mixed strandedness", "call": "coverage",
         "args": {"genomes": genomes, "bams": bams + [[{"species": "Ath", "strandedness": "unstranded"}, "a3.bam"]],
                  "indexes": indexes | {"a3.bam": "a3.bam.bai"}}},
        {"name": "no index", "call": "coverage",
         "args": {"genomes": genomes, "bams": bams, "indexes": {"a1.bam": "a1.bam.bai"}}},
        {"name": "without bams", "call": "withoutBams", "args": {"coverage": [["Ath", "reverse", ["a.bam"], ["a.bai"]],
                                                                               ["Cru", None, [], []]]}},
        {"name": "no coverage", "call": "noCoverage", "args": {"genomes": genomes[:2]}},
        {"name": "sets", "call": "finetuneSets", "args": {"genomes": genomes, "labels": "reference"}},
        {"name": "sets without test", "call": "finetuneSets", "args": {"genomes": [genomes[0], genomes[3]], "labels": "reference"}},
        {"name": "no training", "call": "finetuneSets", "args": {"genomes": genomes[1:3], "labels": "reference"}},
        {"name": "reference without gff3", "call": "finetuneSets",
         "args": {"genomes": [[{"species": "X", "role": "training", "id": "X"}, "x.fa", []]], "labels": "reference"}},
        {"name": "pseudo without gff3", "call": "finetuneSets",
         "args": {"genomes": [[{"species": "X", "role": "training", "id": "X"}, "x.fa", []]], "labels": "pseudo"}},
        {"name": "pseudo with validation", "call": "finetuneSets", "args": {"genomes": genomes, "labels": "pseudo"}},
        {"name": "pseudo with unannotated validation", "call": "finetuneSets",
         "args": {"genomes": [genomes[0], [{"species": "Y", "role": "validation", "id": "Y"}, "y.fa", []]],
                  "labels": "pseudo"}},
    ])
    assert out["genomes"] == [[{"species": "Ath", "id": "Ath", "role": "training"}, "Ath.fa", "g.gff3"],
                              [{"species": "Cru", "role": "test", "id": "Cru"}, "Cru.fa", []]]
    assert out["repeated"] == {"error": "species Ath given more than once: one genome per species"}
    assert "no genomes" in out["none"]["error"]
    # in the genomes' order; a missing strandedness is reverse; .bai, sample.bai or .csi as found
    assert out["coverage"] == [["Ath", "reverse", ["a1.bam", "a2.bam"], ["a1.bam.bai", "a2.bai"]],
                               ["Aly", None, [], []], ["Cru", "forward", ["c1.bam"], ["c1.bam.csi"]],
                               ["Bra", None, [], []]]
    assert out["unknown species"] == {"error": "--bams: species Cru not among the genomes (Ath)"}
    # libraries of several kinds for one genome: each BAM's kind, in order (added a run of one kind at a time)
    assert out["mixed strandedness"][0] == ["Ath", ["reverse", "reverse", "unstranded"], ["a1.bam", "a2.bam", "a3.bam"],
                                            ["a1.bam.bai", "a2.bai", "a3.bam.bai"]]
    assert out["no index"] == {"error": "a2.bam: no index (.bai or .csi) beside it: samtools index a2.bam"}
    assert out["without bams"] == ["Cru"]
    assert out["no coverage"] == [["Ath", None, [], []], ["Aly", None, [], []]]
    ids = {k: [g[0]["id"] for g in v] for k, v in out["sets"].items()}
    assert ids == {"training": ["Ath", "Bra"], "validation": ["Aly"], "targets": ["Cru"]}
    assert [g[0]["id"] for g in out["sets without test"]["targets"]] == ["Ath", "Bra"]
    assert out["no training"]["error"].startswith("no genome with role training")
    assert out["reference without gff3"] == {"error": "--labels reference: no gene models (gff3) for X"}
    assert [g[0]["id"] for g in out["pseudo without gff3"]["training"]] == ["X"]
    # pseudolabels are judged by the validation genomes' reference gene models (a small curated set)
    ids = {k: [g[0]["id"] for g in v] for k, v in out["pseudo with validation"].items()}
    assert ids == {"training": ["Ath", "Bra"], "validation": ["Aly"], "targets": ["Cru"]}
    assert out["pseudo with unannotated validation"]["error"].startswith(
        "--labels pseudo: validation genomes need reference gene models (gff3)")


# --- the training recipe HELIXER_TRAIN gets (lib/HelixerRecipe.groovy via conf/modules.config) ----------------

def _recipe(cases: list[dict]) -> dict:
    proc = subprocess.run([*_groovy_cmd([])[:4], str(ROOT / "tests/nextflow/recipe.groovy"),
                           str(ROOT / "lib/HelixerRecipe.groovy")], input=json.dumps(cases), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_pipeline_training_recipe():
    """Each route's helixer-train options, as the pipeline renders them for both recipes and with parameters
    that win over them; every rendering is parsed by helixer-train's own parser for that route (an option
    the route does not have fails here), and carries the recipe's values."""
    import shlex

    from helixer_tools.cli import train

    routes = ("scratch", "whole", "head", "coverage", "resume")
    cases = [{"name": f"{recipe}/{route}", "params": {"recipe": recipe}, "route": route}
             for recipe in ("helixer-tools", "guide") for route in routes]
    cases += [{"name": "override", "route": "coverage",
               "params": {"recipe": "guide", "learning_rate": 0.003, "hidden_units": "auto", "fresh_head": False,
                          "class_weights": "[1, 2, 2, 2]", "epochs": 7, "train_args": "--seed 3"}},
              {"name": "whole ignores head options", "route": "whole",
               "params": {"hidden_units": "16", "join_at": "last-lstm", "batch_size": 4}},
              {"name": "unknown recipe", "route": "head", "params": {"recipe": "fast"}}]
    out = _recipe(cases)
    weights = "--class-weights 0.7,1.6,1.2,1.2 --transition-weights 1,12,3,1,12,3"
    for route in routes:  # ours: the guide's weights, the rest helixer-train's route defaults
        assert out[f"helixer-tools/{route}"] == weights
    assert out["guide/whole"] == ("--learning-rate 0.0003 --batch-size 8 --val-batch-size 32 --epochs 50 --patience 3 "
                                  "--checkpoint-metric genic --phase-class-weights 1,1,1,1")
    assert out["guide/head"] == ("--learning-rate 0.0001 --batch-size 50 --val-batch-size 100 --epochs 100 "
                                 f"--patience 3 --checkpoint-metric genic {weights} --phase-class-weights 1,1,1,1 "
                                 "--hidden-units 0 --fresh-head")
    assert out["guide/coverage"] == ("--learning-rate 0.0001 --batch-size 140 --val-batch-size 280 --patience 3 "
                                     f"--checkpoint-metric genic {weights} --phase-class-weights 1,1,1,1 "
                                     "--hidden-units 0 --fresh-head --coverage-norm log --join-at before-last-lstm")
    assert out["override"] == ("--learning-rate 0.003 --batch-size 140 --val-batch-size 280 --epochs 7 --patience 3 "
                               "--checkpoint-metric genic --class-weights 1,2,2,2 --transition-weights "
                               "1,12,3,1,12,3 --phase-class-weights 1,1,1,1 --hidden-units auto --coverage-norm log "
                               "--join-at before-last-lstm --seed 3")
    assert out["whole ignores head options"] == f"--batch-size 4 {weights}"
    assert out["unknown recipe"] == {"error": "--recipe fast: not one of helixer-tools, guide"}
    parser = train.build_parser()
    model = {"scratch": [], "resume": ["--checkpoint", "m.h5"]}
    for name, rendered in out.items():
        if isinstance(rendered, dict):
            continue
        route = next(c["route"] for c in cases if c["name"] == name)
        # the module quotes nothing: the shell splits ext.args, as here (the guide's bracketed weights with
        # spaces are rendered as one word)
        argv = [route, *model.get(route, ["--pretrained", "m.h5"]), "--training", "t.h5", "--validation", "v.h5",
                "--output", "o.h5", *shlex.split(rendered)]
        args = parser.parse_args(argv)
        if name.startswith("guide/") and route in ("head", "coverage"):
            assert args.learning_rate == 1e-4 and args.fresh_head and args.phase_class_weights == (1, 1, 1, 1)
        if name.startswith("helixer-tools/"):
            assert args.learning_rate is None and args.class_weights == (0.7, 1.6, 1.2, 1.2)
    config = (ROOT / "conf/modules.config").read_text()
    assert "ext.args = { HelixerRecipe.trainArgs(params, meta.route ?: 'head') }" in config
    assert "params {\n    recipe = 'guide'\n}" in (ROOT / "conf/guide.config").read_text()


def test_prediction_has_its_own_subsequence_length():
    """The guide: predict with subsequences well above the gene length (animals), train at the labels' length.
    The pipeline's fasta2h5 for labels takes --subsequence_length, the annotating ones
    --predict_subsequence_length, except the pretrained model's pseudolabel annotation (ranked against the
    labels by helixer-select, so at their length); both are multiples of 9 in the schema."""
    config = (ROOT / "conf/modules.config").read_text()
    labels = re.search(r"withName: '\.\*LABELS:HELIXER_FASTA2H5' \{\s*ext\.args = \{ (.*?) \}\n", config, re.S)
    assert labels and "params.subsequence_length" in labels.group(1) and "predict" not in labels.group(1)
    annotate = re.search(r"withName: '\.\*ANNOTATE\.\*:HELIXER_FASTA2H5' \{(.*?)\n    \}", config, re.S).group(1)
    assert "params.predict_subsequence_length" in annotate
    assert "ANNOTATE_PRETRAINED" in annotate and "params.labels == 'pseudo'" in annotate
    # the selectors match the processes as the subworkflows name them
    finetune = (ROOT / "subworkflows/local/finetune/main.nf").read_text()
    assert "include { ANNOTATE as ANNOTATE_PRETRAINED }" in finetune.replace("  ", " ").replace("  ", " ")
    assert "HELIXER_FASTA2H5(" in (ROOT / "subworkflows/local/labels/main.nf").read_text()
    assert "HELIXER_FASTA2H5(" in (ROOT / "subworkflows/local/annotate/main.nf").read_text()
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())["$defs"]["annotate_options"]["properties"]
    for name in ("subsequence_length", "predict_subsequence_length"):
        assert schema[name]["multipleOf"] == 9 and name in (ROOT / "nextflow.config").read_text()
