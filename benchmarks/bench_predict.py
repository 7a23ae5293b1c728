"""helixer-predict vs upstream HybridModel.py inference, side by side: same checkpoint, same h5 (CPU).

    .venv/bin/python benchmarks/bench_predict.py [--repeats 2] [--models tiny released_shape released_size]

Input: the A. thaliana 1 Mbp window's genome h5 (our fasta2h5; 94 subsequences of 21384 bp). Models:
upstream's own checkpoints from ../shared/upstream_fixtures/micromonas. Each with and without
--overlap, batch size 32 for both (upstream --val-test-batch-size 32). Wall time of the whole command
(start-up included) and peak RSS. Memory bound: ours is also run on all of chromosome 1 (2,848
subsequences) when its genome h5 exists (benchmarks/join_point.py makes it).
Goal (issue 6): >= 1x with bounded memory. Writes benchmarks/out/predict.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time

from common import OUT, ROOT, SHARED, max_rss, measure, median_s, ours, upstream_venv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["tiny", "released_shape", "released_size"])
    args = ap.parse_args()
    venv = upstream_venv()
    work = OUT / "predict"
    work.mkdir(parents=True, exist_ok=True)
    genome = work / "athaliana_1M.h5"
    if not genome.exists():
        subprocess.run([ours("helixer-fasta2h5"), "--fasta", str(ROOT / "tests/data/athaliana_1M/chr1_1M.fa.gz"),
                        "--species", "Athaliana", "--output", str(genome), "-q"], check=True)
    fixtures = SHARED / "upstream_fixtures/micromonas"
    threads = str(os.cpu_count())
    lines = ["| model | overlap | upstream s | ours s | speed-up | peak RSS MB upstream → ours |", "|---|---|---|---|---|---|"]
    results = {}
    for model in args.models:
        path = fixtures / f"{model}.h5"
        if not path.exists():
            continue
        for overlap in (False, True):
            flag = ["--overlap"] if overlap else []
            cases = {
                "upstream": [str(venv / "bin/python"), str(venv / "bin/HybridModel.py"), "-l", str(path), "-t",
                             str(genome), "-p", str(work / "upstream.h5"), "--val-test-batch-size", "32", *flag],
                "ours": [ours("helixer-predict"), "--model", str(path), "--h5", str(genome), "-o",
                         str(work / "ours.h5"), "--batch-size", "32", "--threads", threads, "-q", *flag],
            }
            runs = {"upstream": [], "ours": []}
            for r in range(args.repeats):
                for name in (("upstream", "ours") if r % 2 == 0 else ("ours", "upstream")):
                    runs[name].append(measure(cases[name]))
                    print(f"  {model} overlap={overlap} {name}: {runs[name][-1].seconds:.1f} s, "
                          f"{runs[name][-1].peak_rss_mb:.0f} MB", flush=True)
            up, us = median_s(runs["upstream"]), median_s(runs["ours"])
            lines.append(f"| {model} | {'yes' if overlap else 'no'} | {up:.1f} | {us:.1f} | **{up / us:.2f}x** | "
                         f"{max_rss(runs['upstream']):.0f} → {max_rss(runs['ours']):.0f} |")
            results[f"{model}/{overlap}"] = {k: [x.__dict__ for x in v] for k, v in runs.items()}
    chr1 = OUT / "join_point/chr1.h5"
    memory = ""
    if chr1.exists():
        run = measure([ours("helixer-predict"), "--model", str(fixtures / "tiny.h5"), "--h5", str(chr1), "-o",
                       str(work / "chr1.ours.h5"), "--overlap", "--threads", threads, "-q"])
        small = [r for k, v in results.items() if k.startswith("tiny/True") for r in v["ours"]]
        memory = (f"\nMemory bound: ours with the tiny model and --overlap peaks at {run.peak_rss_mb:.0f} MB on all of "
                  f"chromosome 1 (30.4 Mbp, {run.seconds:.0f} s) against "
                  f"{max(r['peak_rss_mb'] for r in small):.0f} MB on the 1 Mbp window.\n" if small else "")
        results["chr1"] = run.__dict__
    text = "\n".join(lines) + (f"\n\nA. thaliana 1 Mbp window, 94 subsequences x 21384 bp, batch 32; median wall time of "
                               f"{args.repeats} runs, max peak RSS; {platform.node()}: {os.cpu_count()} cores, CPU only; "
                               f"{time.strftime('%Y-%m-%d')}\n") + memory
    print("\n" + text)
    (OUT / "predict.md").write_text(text)
    (OUT / "predict.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
