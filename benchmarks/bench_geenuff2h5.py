"""helixer-geenuff2h5 (and helixer-import2geenuff) vs upstream, side by side on A. thaliana chromosome 1.

    .venv/bin/python benchmarks/bench_geenuff2h5.py [--repeats 3] [--threads 2] [--skip-import]

Import: upstream rare-geenuff-import vs helixer-import2geenuff (the same GeenuFF library; parity is the
goal). geenuff2h5: upstream geenuff2h5.py vs ours on the same database, the same work (labels and X
from the database), plus ours joined onto a helixer-fasta2h5 file (X copied), the recommended use.
Goal (issue 3): geenuff2h5 >= 10x faster, peak RSS <= 500 MB. Checks that every dataset is equal.
Writes benchmarks/out/geenuff2h5.{md,json}; docs/benchmarks.md holds the reported table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil

import h5py
import numpy as np

from common import OUT, SHARED, Run, max_rss, median_s, ours, side_by_side, upstream_venv


def gunzip(src, dst):
    if not dst.exists():
        with gzip.open(src, "rb") as f, open(dst, "wb") as g:
            shutil.copyfileobj(f, g)
    return dst


def all_equal(a_path, b_path) -> bool:
    with h5py.File(a_path) as a, h5py.File(b_path) as b:
        if sorted(a["data"]) != sorted(b["data"]):
            return False
        for key in b["data"]:
            A, B = a[f"data/{key}"], b[f"data/{key}"]
            if A.shape != B.shape or A.dtype != B.dtype:
                return False
            for i in range(0, A.shape[0], 128):
                if not np.array_equal(A[i:i + 128], B[i:i + 128]):
                    return False
    return True


def row(label, up: list[Run], us: list[Run], equal, note=""):
    u, o = median_s(up), median_s(us)
    return (f"| {label} | {u:.2f} | {max_rss(up):.0f} | {o:.2f} | {max_rss(us):.0f} | **{u / o:.1f}x** "
            f"| {equal} | {len(us)} |{note}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-import", action="store_true", help="reuse the databases of an earlier run")
    args = ap.parse_args()
    venv = upstream_venv()
    work = OUT / "geenuff2h5"
    work.mkdir(parents=True, exist_ok=True)
    fasta = gunzip(SHARED / "data/athaliana_chr1/chr1.fa.gz", work / "chr1.fa")
    gff = gunzip(SHARED / "data/athaliana_chr1/chr1.gff3.gz", work / "chr1.gff3")
    rows, raw = [], {}

    up_db, our_db = work / "upstream.sqlite3", work / "ours.sqlite3"
    if not args.skip_import or not (up_db.exists() and our_db.exists()):
        print("import", flush=True)
        for p in (up_db, our_db):
            p.unlink(missing_ok=True)
        runs = side_by_side({
            "upstream": [str(venv / "bin/rare-geenuff-import"), "--gff3", str(gff), "--fasta", str(fasta),
                         "--db-path", str(up_db), "--log-file", str(work / "up.log"), "--species", "Athaliana"],
            "ours": [ours("helixer-import2geenuff"), "--gff3", str(gff), "--fasta", str(fasta), "-s", "Athaliana",
                     "-o", str(our_db), "--log", str(work / "ours.log"), "-q"],
        }, 1)
        raw["import"] = {k: [r.__dict__ for r in v] for k, v in runs.items()}
        rows.append(row("import (GeenuFF both)", runs["upstream"], runs["ours"], "-", " same library: parity"))

    print("geenuff2h5", flush=True)
    up_out, our_out, join_out = work / "up_labels.h5", work / "our_labels.h5", work / "our_join.h5"
    fasta_h5 = work / "chr1_fasta.h5"
    side_by_side({"fasta2h5": [ours("helixer-fasta2h5"), "-f", str(fasta), "-s", "Athaliana", "-o", str(fasta_h5),
                               "-q", "--threads", str(args.threads)]}, 1)
    runs = side_by_side({
        "upstream": [str(venv / "bin/python"), str(venv / "bin/geenuff2h5.py"), "--input-db-path", str(up_db),
                     "--h5-output-path", str(up_out)],
        "ours": [ours("helixer-geenuff2h5"), "--db", str(up_db), "-o", str(our_out), "-q", "--threads", str(args.threads)],
        "ours_join": [ours("helixer-geenuff2h5"), "--db", str(up_db), "--h5", str(fasta_h5), "-o", str(join_out), "-q",
                      "--threads", str(args.threads)],
    }, args.repeats)
    equal = "yes" if all_equal(our_out, up_out) else "NO"
    raw["geenuff2h5"] = {k: [r.__dict__ for r in v] for k, v in runs.items()} | {"equal": equal}
    rows.append(row("geenuff2h5, database only (same work)", runs["upstream"], runs["ours"], equal))
    rows.append(row("geenuff2h5 joined on fasta2h5 rows (X copied)", runs["upstream"], runs["ours_join"], "rows joined", ""))
    table = ["| step | upstream s | upstream peak RSS MB | ours s | ours peak RSS MB | speed-up | all datasets equal | runs |",
             "|---|---|---|---|---|---|---|---|", *rows]
    machine = f"{platform.node()}: {os.cpu_count()} cores, ours with --threads {args.threads}"
    text = "\n".join(table) + f"\n\nA. thaliana chr1 (30.4 Mbp, 8,771 genes); median wall time, max peak RSS; {machine}\n"
    print("\n" + text)
    (OUT / "geenuff2h5.md").write_text(text)
    (OUT / "geenuff2h5.json").write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
