"""helixer-train vs upstream HybridModel.py training, side by side on the same data and architecture (CPU).

    .venv/bin/python benchmarks/bench_train.py [--repeats 2] [--epochs 3] [--archs tiny released_shape]

Data: the A. thaliana 1 Mbp window (tests/data) through our fasta2h5 -> import2geenuff -> geenuff2h5,
94 subsequences of 21384 bp, used for training and validation by both tools (upstream via --data-dir).
Same architecture, batch size 8, validation batch 32, learning rate, class and transition weights.

Two numbers per tool: the whole command's wall time (start-up, compilation, validation and checkpoints
included), and the steady training throughput in bases/s: the training steps of epochs 2 and later
(epoch 1 includes graph tracing and compilation; validation is not included). Upstream: its per-epoch
"training took" log lines; ours: helixer-train's per-epoch "trained on ... bases/s" log lines.
Goal (issue 5): >= 1.5x training throughput. Writes benchmarks/out/train.{md,json}.

With --memory: peak RSS as the training set grows, both tools, tiny architecture, one epoch on all of
A. thaliana chromosome 1 (2,848 subsequences; benchmarks/join_point.py makes its labels h5) against one
epoch on the 1 Mbp window, validating on the 1 Mbp window in both. Writes benchmarks/out/train_memory.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

from common import OUT, ROOT, median_s, max_rss, measure, ours, upstream_venv

ARCHS = {
    "tiny": ["--cnn-layers", "1", "--lstm-layers", "1", "--units", "16", "--filter-depth", "16", "--kernel-size", "9"],
    "released_shape": ["--cnn-layers", "4", "--lstm-layers", "3", "--units", "16", "--filter-depth", "16",
                       "--kernel-size", "10"],
    "released_size": ["--cnn-layers", "4", "--lstm-layers", "3", "--units", "128", "--filter-depth", "96",
                      "--kernel-size", "10"],
}
COMMON = ["-b", "8", "--val-test-batch-size", "32", "--learning-rate", "0.003",
          "--class-weights", "[0.7,1.6,1.2,1.2]", "--transition-weights", "[1,12,3,1,12,3]"]


def labelled_data(work):
    h5 = work / "example" / "labels.h5"  # scripts/example.sh's labels of its 1 Mbp window (94 subsequences)
    if not h5.exists():
        subprocess.run(["bash", str(ROOT / "scripts/example.sh"), str(work / "example")], check=True,
                       stdout=subprocess.DEVNULL)
    data_dir = work / "data"
    data_dir.mkdir(exist_ok=True)
    for name in ("training_data.h5", "validation_data.h5"):
        link = data_dir / name
        if link.is_symlink() and link.resolve() != h5.resolve():  # an earlier layout's link
            link.unlink()
        if not link.exists():
            link.symlink_to(h5.resolve())
    with __import__("h5py").File(h5) as f:
        rows, length = f["data/X"].shape[:2]
    return data_dir, rows, length


def run_logged(cmd, log_path):
    """measure() the command, keeping its output (the training logs) in ``log_path``."""
    wrapper = [sys.executable, "-c",
               "import subprocess,sys; f=open(sys.argv[1],'w'); p=subprocess.run(sys.argv[2:], stdout=f, stderr=f); "
               "sys.exit(p.returncode)", str(log_path), *cmd]
    return measure(wrapper)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--archs", nargs="+", default=["tiny", "released_shape"], choices=list(ARCHS))
    ap.add_argument("--memory", action="store_true", help="only the memory measurement (see above)")
    args = ap.parse_args()
    venv = upstream_venv()
    work = OUT / "train"
    work.mkdir(parents=True, exist_ok=True)
    data_dir, rows, length = labelled_data(work)
    if args.memory:
        return memory(venv, work, data_dir)
    bases_per_epoch = rows * length
    results = {}
    lines = ["| architecture | upstream wall s | ours wall s | wall speed-up | upstream train bases/s | "
             "ours train bases/s | **throughput speed-up** | peak RSS MB upstream → ours |",
             "|---|---|---|---|---|---|---|---|"]
    for arch in args.archs:
        runs = {"upstream": [], "ours": []}
        rates = {"upstream": [], "ours": []}
        for r in range(args.repeats):
            for name in (("upstream", "ours") if r % 2 == 0 else ("ours", "upstream")):
                log_path = work / f"{arch}.{name}.{r}.log"
                if name == "upstream":
                    cmd = [str(venv / "bin/python"), str(venv / "bin/HybridModel.py"), "-d", str(data_dir),
                           "-s", str(work / f"{arch}.upstream.h5"), "-e", str(args.epochs), *COMMON, *ARCHS[arch]]
                else:
                    cmd = [ours("helixer-train"), "scratch", "--data-dir", str(data_dir), "-o",
                           str(work / f"{arch}.ours.h5"), "-e", str(args.epochs), "--threads", str(os.cpu_count()),
                           *COMMON, *ARCHS[arch]]
                runs[name].append(run_logged(cmd, log_path))
                text = log_path.read_text()
                if name == "upstream":  # minutes, 2 decimals: summed over epochs for resolution
                    minutes = [float(m) for m in re.findall(r"training took ([\d.]+)m", text)][1:]
                    rate = len(minutes) * bases_per_epoch / (60 * sum(minutes))
                else:
                    seconds = [float(m) for m in re.findall(r"trained on \d+ subsequences in ([\d.]+) s", text)][1:]
                    rate = len(seconds) * bases_per_epoch / sum(seconds)
                rates[name].append(rate)
                print(f"  {arch} {name}: {runs[name][-1].seconds:.1f} s wall, {rate:,.0f} bases/s, "
                      f"{runs[name][-1].peak_rss_mb:.0f} MB", flush=True)
        up_w, us_w = median_s(runs["upstream"]), median_s(runs["ours"])
        up_r, us_r = statistics.median(rates["upstream"]), statistics.median(rates["ours"])
        lines.append(f"| {arch} | {up_w:.1f} | {us_w:.1f} | {up_w / us_w:.2f}x | {up_r:,.0f} | {us_r:,.0f} | "
                     f"**{us_r / up_r:.2f}x** | {max_rss(runs['upstream']):.0f} → {max_rss(runs['ours']):.0f} |")
        results[arch] = {k: [r.__dict__ for r in v] for k, v in runs.items()} | {"rates": rates}
    text = "\n".join(lines) + (
        f"\n\n{rows} subsequences x {length} bp per epoch, {args.epochs} epochs, median of {args.repeats} runs; "
        f"{platform.node()}: {os.cpu_count()} cores, CPU only; {time.strftime('%Y-%m-%d')}\n")
    print("\n" + text)
    (OUT / "train.md").write_text(text)
    (OUT / "train.json").write_text(json.dumps(results, indent=1))


def memory(venv, work, small_dir):
    chr1 = OUT / "join_point/chr1.labels.h5"
    if not chr1.exists():
        sys.exit(f"{chr1} is missing: run benchmarks/join_point.py first")
    big_dir = work / "data_chr1"
    big_dir.mkdir(exist_ok=True)
    for name, target in (("training_data.h5", chr1), ("validation_data.h5", small_dir / "validation_data.h5")):
        if not (big_dir / name).exists():
            (big_dir / name).symlink_to(target.resolve())
    lines = ["| training set | upstream peak RSS MB | ours peak RSS MB | upstream wall s | ours wall s |",
             "|---|---|---|---|---|"]
    for label, data_dir in (("1 Mbp window (94 subsequences)", small_dir), ("chr1, 30.4 Mbp (2,848 subsequences)", big_dir)):
        up = run_logged([str(venv / "bin/python"), str(venv / "bin/HybridModel.py"), "-d", str(data_dir),
                         "-s", str(work / "mem.upstream.h5"), "-e", "1", *COMMON, *ARCHS["tiny"]], work / "mem.upstream.log")
        us = run_logged([ours("helixer-train"), "scratch", "--data-dir", str(data_dir), "-o", str(work / "mem.ours.h5"),
                         "-e", "1", "--threads", str(os.cpu_count()), *COMMON, *ARCHS["tiny"]], work / "mem.ours.log")
        lines.append(f"| {label} | {up.peak_rss_mb:.0f} | {us.peak_rss_mb:.0f} | {up.seconds:.0f} | {us.seconds:.0f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + (f"\n\ntiny architecture, one epoch, batch 8; {platform.node()}: {os.cpu_count()} cores, "
                               f"CPU only; {time.strftime('%Y-%m-%d')}\n")
    print("\n" + text)
    (OUT / "train_memory.md").write_text(text)


if __name__ == "__main__":
    main()
