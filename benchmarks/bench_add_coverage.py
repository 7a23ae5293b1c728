"""helixer-add-coverage vs upstream add_ngs_coverage.py, side by side on A. thaliana chromosome 1 and
its simulated RNA-seq BAM (1,039,367 alignments), the input being upstream's labels h5 of chr1.

    .venv/bin/python benchmarks/bench_add_coverage.py [--repeats 3] [--threads 2]

Upstream modifies its input in place, so each of its runs gets a fresh copy (the copy is not timed).
Goal (issue 4): >= 20x faster in the same run, memory bounded. Checks that the coverage arrays are equal.
Writes benchmarks/out/add_coverage.{md,json}; docs/benchmarks.md holds the reported table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil

import h5py
import numpy as np

from common import OUT, SHARED, max_rss, measure, median_s, ours, upstream_venv
from bench_geenuff2h5 import gunzip


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    venv = upstream_venv()
    work = OUT / "add_coverage"
    work.mkdir(parents=True, exist_ok=True)
    bam = SHARED / "data/athaliana_chr1/chr1.rnaseq.bam"
    labels = work / "labels.h5"
    if not labels.exists():  # upstream's labels of chr1 (same input for both tools)
        fasta = gunzip(SHARED / "data/athaliana_chr1/chr1.fa.gz", work / "chr1.fa")
        gff = gunzip(SHARED / "data/athaliana_chr1/chr1.gff3.gz", work / "chr1.gff3")
        measure([str(venv / "bin/rare-geenuff-import"), "--gff3", str(gff), "--fasta", str(fasta), "--db-path",
                 str(work / "chr1.sqlite3"), "--log-file", str(work / "import.log"), "--species", "Athaliana"])
        measure([str(venv / "bin/python"), str(venv / "bin/geenuff2h5.py"), "--input-db-path", str(work / "chr1.sqlite3"),
                 "--h5-output-path", str(labels)])
    script = next((venv / "lib").glob("python3*/site-packages/helixer/evaluation/add_ngs_coverage.py"))
    up_out, our_out = work / "upstream.h5", work / "ours.h5"
    runs = {"upstream": [], "ours": []}
    for r in range(args.repeats):
        for name in (("upstream", "ours") if r % 2 == 0 else ("ours", "upstream")):
            if name == "upstream":
                shutil.copy(labels, up_out)
                cmd = [str(venv / "bin/python"), str(script), "-s", "Athaliana", "-d", str(up_out), "-b", str(bam),
                       "--dataset-prefix", "rnaseq", "--second-read-is-sense-strand", "--threads", str(args.threads)]
            else:
                cmd = [ours("helixer-add-coverage"), "--h5", str(labels), "--bam", str(bam), "-o", str(our_out),
                       "--second-read-is-sense-strand", "--threads", str(args.threads), "-q"]
            runs[name].append(measure(cmd, cwd=work))
            print(f"  {name}: {runs[name][-1].seconds:.2f} s, {runs[name][-1].peak_rss_mb:.0f} MB", flush=True)
    with h5py.File(up_out) as a, h5py.File(our_out) as b:
        equal = all(np.array_equal(a[k][i:i + 256], b[k][i:i + 256])
                    for k in ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage")
                    for i in range(0, a[k].shape[0], 256))
    up, us = median_s(runs["upstream"]), median_s(runs["ours"])
    text = ("| input | upstream s | upstream peak RSS MB | ours s | ours peak RSS MB | speed-up | coverage equal | runs |\n"
            "|---|---|---|---|---|---|---|---|\n"
            f"| chr1 labels h5 + 1,039,367 alignments | {up:.2f} | {max_rss(runs['upstream']):.0f} | {us:.2f} | "
            f"{max_rss(runs['ours']):.0f} | **{up / us:.1f}x** | {'yes' if equal else 'NO'} | {args.repeats} |\n\n"
            f"median wall time, max peak RSS; {platform.node()}: {os.cpu_count()} cores; both with --threads {args.threads}\n")
    print("\n" + text)
    (OUT / "add_coverage.md").write_text(text)
    (OUT / "add_coverage.json").write_text(json.dumps({k: [r.__dict__ for r in v] for k, v in runs.items()} | {"equal": equal}, indent=1))


if __name__ == "__main__":
    main()
