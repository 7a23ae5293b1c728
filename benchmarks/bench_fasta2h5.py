"""helixer-fasta2h5 vs upstream fasta2h5.py, side by side on A. thaliana chromosome 1 (30.4 Mbp),
and on the genome doubled (two copies of chr1) to show that memory does not grow with the genome.

    .venv/bin/python benchmarks/bench_fasta2h5.py [--repeats 3] [--threads 2]

Goal (issue 2): >= 8x faster than upstream in the same run, peak RSS <= 300 MB, RSS flat when the
genome doubles. Writes benchmarks/out/fasta2h5.{md,json}; docs/benchmarks.md holds the reported table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil

import h5py

from common import OUT, SHARED, max_rss, median_s, ours, side_by_side, upstream_venv


def doubled(fasta, path):
    if not path.exists():
        with gzip.open(fasta, "rb") as src, gzip.open(path, "wb", compresslevel=1) as dst:
            data = src.read()
            dst.write(data)
            dst.write(data.replace(b">", b">copy2_", 1))
    return path


def same_arrays(a, b) -> bool:
    with h5py.File(a) as x, h5py.File(b) as y:
        for key in ("data/X", "data/seqids", "data/species", "data/start_ends"):
            if x[key].shape != y[key].shape:
                return False
            for i in range(0, x[key].shape[0], 256):
                if x[key][i:i + 256].tobytes() != y[key][i:i + 256].tobytes():
                    return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    venv = upstream_venv()
    OUT.mkdir(parents=True, exist_ok=True)
    chr1 = SHARED / "data" / "athaliana_chr1" / "chr1.fa.gz"
    genomes = {"chr1 (30.4 Mbp)": chr1, "chr1 x2 (60.9 Mbp)": doubled(chr1, OUT / "chr1x2.fa.gz")}
    rows, raw = [], {}
    for label, fasta in genomes.items():
        print(label, flush=True)
        up_out, our_out = OUT / "upstream.h5", OUT / "ours.h5"
        cases = {
            "upstream": [str(venv / "bin" / "python"), str(venv / "bin" / "fasta2h5.py"), "--species", "Athaliana",
                         "--fasta-path", str(fasta), "--h5-output-path", str(up_out)],
            "ours": [ours("helixer-fasta2h5"), "--species", "Athaliana", "--fasta", str(fasta),
                     "--output", str(our_out), "--threads", str(args.threads), "--quiet"],
        }
        repeats = args.repeats if fasta == chr1 else 1
        runs = side_by_side(cases, repeats)
        equal = same_arrays(up_out, our_out)
        sizes = {k: os.path.getsize(p) / 1e6 for k, p in (("upstream", up_out), ("ours", our_out))}
        up, us = median_s(runs["upstream"]), median_s(runs["ours"])
        rows.append((label, up, max_rss(runs["upstream"]), sizes["upstream"], us, max_rss(runs["ours"]), sizes["ours"],
                     up / us, equal, repeats))
        raw[label] = {k: [r.__dict__ for r in v] for k, v in runs.items()} | {"equal": equal, "sizes_mb": sizes}
        for p in (up_out, our_out):
            p.unlink()
    table = ["| genome | upstream s | upstream peak RSS MB | upstream file MB | ours s | ours peak RSS MB | ours file MB "
             "| speed-up | data equal | runs |", "|---|---|---|---|---|---|---|---|---|---|"]
    table += [f"| {r[0]} | {r[1]:.2f} | {r[2]:.0f} | {r[3]:.1f} | {r[4]:.2f} | {r[5]:.0f} | {r[6]:.1f} | **{r[7]:.1f}x** "
              f"| {'yes' if r[8] else 'NO'} | {r[9]} |" for r in rows]
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, ours with --threads {args.threads}"
    text = "\n".join(table) + f"\n\nmedian wall time over runs, max peak RSS; {machine}\n"
    print("\n" + text)
    (OUT / "fasta2h5.md").write_text(text)
    (OUT / "fasta2h5.json").write_text(json.dumps(raw, indent=1))
    shutil.rmtree(OUT / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
