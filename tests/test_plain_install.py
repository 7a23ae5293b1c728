"""A plain install (``pip install helixer-tools``, no extras) in a fresh venv: every tool answers --help and
--version, refuses a missing input in one line, and a tool that needs an extra it lacks (TensorFlow for
train and predict, GeenuFF for import2geenuff, matplotlib for plots) says in one line which to install,
with no traceback. helixer-post, whose decoder numba compiles, works: numba is a core dependency.

The venv is built once per session from PyPI (pip's cache makes reruns quick); it does not see the test
venv's packages. HELIXER_TOOLS_OFFLINE=1 skips these tests where PyPI cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

TEST_DATA = ROOT / "galaxy" / "test-data"
TOOLS = ("fasta2h5", "import2geenuff", "geenuff2h5", "add-coverage", "train", "predict", "evaluate", "post",
         "select", "split", "export-model", "fetch-model")


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    if os.environ.get("HELIXER_TOOLS_OFFLINE") == "1":
        pytest.skip("HELIXER_TOOLS_OFFLINE=1: no PyPI to install from")
    venv = tmp_path_factory.mktemp("plain") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", str(ROOT)], capture_output=True,
                         text=True)
    assert pip.returncode == 0, pip.stderr[-3000:]
    check = subprocess.run([str(venv / "bin/python"), "-c", "import tensorflow"], capture_output=True)
    assert check.returncode != 0, "the plain venv sees TensorFlow: it is not a plain install"
    return venv / "bin"


def run(bin_dir: Path, tool: str, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / f"helixer-{tool}"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


@pytest.mark.parametrize("tool", TOOLS)
def test_help_version_and_a_missing_input(plain, tool, tmp_path):
    help_ = run(plain, tool, "--help")
    assert help_.returncode == 0 and f"helixer-{tool}" in help_.stdout, help_.stderr
    version = run(plain, tool, "--version")
    assert version.returncode == 0 and version.stdout.strip().startswith(f"helixer-{tool} "), version.stderr
    argv = {"fasta2h5": ["--fasta", "none.fa", "--species", "S", "--output", "o.h5"],
            "import2geenuff": ["--gff3", "none.gff3", "--fasta", "none.fa", "--species", "S", "--output", "o.db",
                               "--log", "l.txt"],
            "geenuff2h5": ["--db", "none.db", "--h5", "none.h5", "--output", "o.h5"],
            "add-coverage": ["--h5", "none.h5", "--bam", "none.bam", "--output", "o.h5",
                             "--second-read-is-sense-strand"],
            "train": ["head", "--pretrained", "none.h5", "--training", "t.h5", "--validation", "v.h5",
                      "--output", "o.h5"],
            "predict": ["--model", "none.h5", "--h5", "none.h5", "--output", "o.h5"],
            "evaluate": ["--labels", "none.h5", "--predictions", "none.h5", "--output", "o.tsv"],
            "post": ["--h5", "none.h5", "--predictions", "none.h5", "--output", "o.gff3"],
            "select": ["--labels", "none.h5", "--predictions", "none.h5", "--output", "o.h5"],
            "split": ["--h5", "none.h5", "--output-dir", "out"],
            "export-model": ["--model", "none.h5", "--output", "o.h5"],
            "fetch-model": ["--list", "--model-list", "none.csv", "--output-dir", "m"]}[tool]
    bad = run(plain, tool, *argv, "-q", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.startswith(f"helixer-{tool}: error: ") and "Traceback" not in bad.stderr
    assert not list(tmp_path.iterdir())  # nothing written


MISSING_EXTRA = {
    "train": (["head", "--pretrained", "helixer_tiny_upstream.h5", "--training", "micromonas_small.labels.h5",
               "--validation", "micromonas_small.labels.h5", "--output", "{out}/m.h5"], "helixer-tools[train]"),
    "predict": (["--model", "helixer_tiny_head_tuned.h5", "--h5", "micromonas_small.h5", "--output", "{out}/p.h5"],
                "helixer-tools[train]"),
    "import2geenuff": (["--gff3", "micromonas_small.gff3", "--fasta", "micromonas_small.fa", "--species", "S",
                        "--output", "{out}/x.db", "--log", "{out}/x.log"], "helixer-tools[geenuff]"),
    "evaluate": (["--labels", "micromonas_small.labels.h5", "--predictions", "micromonas_small.predictions.h5",
                  "--output", "{out}/e.tsv", "--plot", "{out}/e.png"], "helixer-tools[evaluate]"),
    "select": (["--labels", "micromonas_small.labels.h5", "--predictions", "micromonas_small.predictions.h5",
                "--output", "{out}/s.h5", "--plot", "{out}/s.png"], "helixer-tools[evaluate]"),
}


@pytest.mark.parametrize("tool", MISSING_EXTRA)
def test_a_missing_extra_is_named(plain, tool, tmp_path):
    argv, extra = MISSING_EXTRA[tool]
    result = run(plain, tool, *(a.format(out=tmp_path) for a in argv), "-q", cwd=TEST_DATA)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"pip install '{extra}'" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_what_needs_no_extra_works(plain, tmp_path):
    """The core: genome h5, labels from a GeenuFF database, gene models from predictions (numba), a split, the
    export of a model for upstream (no TensorFlow needed), evaluation without plots."""
    steps = [("fasta2h5", "--fasta", "micromonas_small.fa", "--species", "Mpusilla", "--output", tmp_path / "g.h5"),
             ("geenuff2h5", "--db", "micromonas_small.sqlite3", "--h5", tmp_path / "g.h5", "--output", tmp_path / "l.h5"),
             ("post", "--h5", "micromonas_small.h5", "--predictions", "micromonas_small.predictions.h5", "--output",
              tmp_path / "genes.gff3"),
             ("split", "--h5", "micromonas_small.labels.h5", "--output-dir", tmp_path / "split", "--by-region",
              "--block-size", "21384"),
             ("export-model", "--model", "helixer_tiny_head_tuned.h5", "--output", tmp_path / "up.h5"),
             ("evaluate", "--labels", "micromonas_small.labels.h5", "--predictions", "micromonas_small.predictions.h5",
              "--output", tmp_path / "e.tsv")]
    for tool, *argv in steps:
        result = run(plain, tool, *argv, "-q", cwd=TEST_DATA)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (tool, result.stderr)
    assert (tmp_path / "genes.gff3").read_text().startswith("##gff-version 3")
    assert (tmp_path / "split/training_data.h5").exists() and (tmp_path / "up.h5").exists()


NO_CACHE_LOCATION = """
import numba.core.caching as caching
caching.CacheImpl._locator_classes = []  # as where neither the install nor the home folder can be written
import sys
from helixer_tools.cli import post
sys.exit(post.main(sys.argv[1:]))
"""


def test_post_without_a_writable_numba_cache(tmp_path):
    """numba caches compiled code beside the sources or in the user's cache folder; in a read-only install
    without a writable home (a container, Galaxy) neither exists: helixer-post then compiles without
    caching, with no warning and the same gene models. Simulated by giving numba no cache location (and,
    where this runs as root and may bind-mount, with the package folder really read-only)."""
    from test_post import Synthetic, make_gene

    syn = Synthetic(tmp_path, [("+", make_gene([300, 240], [120])), ("-", make_gene([360], []))], length=30000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outs = {}
    for name, code in (("cached", "import sys\nfrom helixer_tools.cli import post\nsys.exit(post.main(sys.argv[1:]))"),
                       ("uncached", NO_CACHE_LOCATION)):
        result = subprocess.run([sys.executable, "-c", code, "--h5", str(syn.genome), "--predictions",
                                 str(syn.predictions), "--output", str(tmp_path / f"{name}.gff3"), "-q"],
                                capture_output=True, text=True, env=env)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        outs[name] = [line for line in (tmp_path / f"{name}.gff3").read_text().splitlines()
                      if not line.startswith("# command:")]
    assert outs["cached"] == outs["uncached"] and sum("\tgene\t" in line for line in outs["cached"]) == 2


def test_post_from_a_read_only_install(plain, tmp_path):
    """The plain install's package folder bind-mounted read-only, the home folder too (root only; skipped
    where mounts are not allowed)."""
    from test_post import Synthetic, make_gene

    package = next((plain.parent / "lib").glob("python3*/site-packages/helixer_tools"))
    home = tmp_path / "home"
    home.mkdir()
    for cached in package.glob("__pycache__/*.nb*"):  # what earlier runs of this venv cached there
        cached.unlink()
    mounted = []
    try:
        for folder in (package, home):
            if os.geteuid() != 0 or subprocess.run(["mount", "--bind", str(folder), str(folder)],
                                                   capture_output=True).returncode:
                pytest.skip("cannot bind-mount a folder read-only here (not root, or no mount permission)")
            mounted.append(folder)
            assert subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True).returncode == 0
        syn = Synthetic(tmp_path, [("+", make_gene([300, 240], [120]))], length=30000)
        env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
        result = subprocess.run([str(plain / "helixer-post"), "--h5", str(syn.genome), "--predictions",
                                 str(syn.predictions), "--output", str(tmp_path / "genes.gff3"), "-q"],
                                capture_output=True, text=True, env=env)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert sum("\tgene\t" in line for line in (tmp_path / "genes.gff3").read_text().splitlines()) == 1
    finally:
        for folder in reversed(mounted):
            subprocess.run(["umount", str(folder)], capture_output=True)
