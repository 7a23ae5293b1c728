"""Shared helpers for side-by-side benchmarks against upstream Helixer on the same inputs, same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HELIXER_TOOLS_SHARED", ROOT.parent / "shared"))
CACHE = Path(os.environ.get("HELIXER_TOOLS_CACHE", Path.home() / ".cache" / "helixer-tools"))
OUT = ROOT / "benchmarks" / "out"


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float


# Peak RSS comes from wait4 (the largest process of the tree, as GNU time reports it). It is read in
# a small launcher process: Linux carries a process's max-RSS across fork/vfork + exec, so a command
# started straight from this (large) benchmark process would report this process's peak, not its own.
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - start
sys.stderr.buffer.write(err[-4000:])
print(os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss)
"""


def measure(cmd: list[str], cwd: Path | None = None) -> Run:
    """Wall time and peak RSS of one command."""
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    code, seconds, maxrss_kb = proc.stdout.split()
    if int(code) != 0 or proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}):\n{proc.stderr[-2000:]}")
    return Run(float(seconds), int(maxrss_kb) / 1024)


def upstream_venv() -> Path:
    """The upstream Helixer venv (built once with ../shared/upstream/setup_upstream_venv.sh)."""
    venv = Path(os.environ.get("HELIXER_TOOLS_UPSTREAM_VENV", CACHE / "upstream-venv"))
    if not (venv / "bin" / "fasta2h5.py").exists():
        script = SHARED / "upstream" / "setup_upstream_venv.sh"
        if not script.exists():
            raise SystemExit(f"need upstream Helixer: {script} not found (set HELIXER_TOOLS_UPSTREAM_VENV)")
        subprocess.run(["bash", str(script), str(venv)], check=True)
    return venv


def ours(command: str) -> str:
    return str(ROOT / ".venv" / "bin" / command)


def side_by_side(cases: dict[str, list[str]], repeats: int) -> dict[str, list[Run]]:
    """Run every case ``repeats`` times, interleaved (rotating the order) so drift hits all alike."""
    runs: dict[str, list[Run]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            runs[name].append(measure(cases[name]))
            print(f"  {name}: {runs[name][-1].seconds:.2f} s, {runs[name][-1].peak_rss_mb:.0f} MB", flush=True)
    return runs


def median_s(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def max_rss(runs: list[Run]) -> float:
    return max(r.peak_rss_mb for r in runs)
