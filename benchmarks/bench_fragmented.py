"""Draft assemblies: every tool's time must grow with bases, not with sequences (issue 13 part 3).

A. thaliana chromosome 1 (30.4 Mbp) is cut into about 20,000 contigs of 300 bp to 20 kbp (log-normal
lengths, seeded), its RefSeq gene models and its simulated RNA-seq alignments lifted onto the contigs
(genes and reads that cross a cut are dropped). The same bases as one sequence (the contigs joined
in order, so both inputs hold exactly the same genes and reads) are the baseline, cut into the same
subsequence length (``--length``, default what helixer-fasta2h5 advises for these contigs), so the
comparison shows what the number of sequences costs. Each tool runs on both, interleaved; goal:
fragmented <= 2x the time of the single sequence. Upstream add_ngs_coverage.py runs on the same
inputs side by side with helixer-add-coverage.

    .venv/bin/python benchmarks/bench_fragmented.py [--repeats 1] [--threads 2] [--length 2025] [--upstream-timeout 1800]

Writes benchmarks/out/fragmented.{md,json}; docs/benchmarks.md holds the reported table.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import os
import platform
import shutil

import h5py
import numpy as np

from common import OUT, ROOT, SHARED, max_rss, measure, median_s, ours, upstream_venv

CHR1 = SHARED / "data/athaliana_chr1"
MODEL = ROOT / "tests/data/athaliana_1M/chr1_0-10M.model.h5"


def contig_bounds(length: int, seed: int = 13) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    bounds, pos = [], 0
    while pos < length:
        size = int(np.clip(rng.lognormal(np.log(900), 0.9), 300, 20_000))
        bounds.append((pos, min(pos + size, length)))
        pos += size
    return bounds


def build(work, bounds):
    """Fragmented and joined FASTA, GFF3 and BAM with the same bases, genes and reads."""
    import pysam

    seq = "".join(line.strip() for line in gzip.open(CHR1 / "chr1.fa.gz", "rt") if not line.startswith(">"))
    starts = [a for a, _ in bounds]
    names = [f"ctg{i:05d}" for i in range(len(bounds))]
    kept = "".join(seq[a:b] for a, b in bounds)
    assert kept == seq
    with open(work / "frag.fa", "w") as f:
        for name, (a, b) in zip(names, bounds):
            f.write(f">{name}\n{seq[a:b]}\n")
    with open(work / "one.fa", "w") as f:
        f.write(f">chr1\n{seq}\n")

    def where(a: int, b: int):  # 0-based half-open span -> contig index when inside one contig
        i = bisect.bisect_right(starts, a) - 1
        return i if b <= bounds[i][1] else None

    # gene models: whole genes inside one contig, shifted; the same genes on the joined sequence
    rows = [line.rstrip("\n").split("\t") for line in gzip.open(CHR1 / "chr1.gff3.gz", "rt")
            if line.strip() and not line.startswith("#")]
    attrs = [dict(kv.split("=", 1) for kv in r[8].split(";") if "=" in kv) for r in rows]
    parent = {a["ID"]: a.get("Parent", "").split(",")[0] for a in attrs if "ID" in a}

    def root(ident: str) -> str:
        while parent.get(ident):
            ident = parent[ident]
        return ident

    contig_of = {a["ID"]: where(int(r[3]) - 1, int(r[4])) for r, a in zip(rows, attrs)
                 if "ID" in a and not a.get("Parent") and r[2] != "region"}
    frag, one = [], []
    for r, a in zip(rows, attrs):
        key = a.get("ID") or a.get("Parent", "").split(",")[0]
        i = contig_of.get(root(key)) if key else None
        if i is None:
            continue
        shift = bounds[i][0]
        frag.append([names[i], r[1], r[2], str(int(r[3]) - shift), str(int(r[4]) - shift)] + r[5:])
        one.append(["chr1"] + r[1:])
    for name, lines in (("frag", frag), ("one", one)):
        with open(work / f"{name}.gff3", "w") as f:
            f.write("##gff-version 3\n" + "".join("\t".join(x) + "\n" for x in lines))

    # reads inside one contig, shifted; flags kept (each mate counts by its own flags), mate fields cleared
    src = pysam.AlignmentFile(CHR1 / "chr1.rnaseq.bam")
    header_frag = {"HD": {"VN": "1.6", "SO": "coordinate"},
                   "SQ": [{"SN": n, "LN": b - a} for n, (a, b) in zip(names, bounds)]}
    header_one = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": len(seq)}]}
    n = 0
    with pysam.AlignmentFile(work / "frag.bam", "wb", header=header_frag) as out_f, \
            pysam.AlignmentFile(work / "one.bam", "wb", header=header_one) as out_o:
        for read in src.fetch(until_eof=True):
            if read.is_unmapped:
                continue
            i = where(read.reference_start, read.reference_end)
            if i is None:
                continue
            for out, ref, shift in ((out_f, i, bounds[i][0]), (out_o, 0, 0)):
                r2 = pysam.AlignedSegment(out.header)
                r2.query_name, r2.flag = read.query_name, read.flag & ~0x28  # no mate-unmapped/mate-reverse
                r2.reference_id, r2.reference_start = ref, read.reference_start - shift
                r2.next_reference_id, r2.next_reference_start = -1, -1
                r2.mapping_quality, r2.cigartuples = read.mapping_quality, read.cigartuples
                r2.query_sequence, r2.query_qualities = read.query_sequence, read.query_qualities
                out.write(r2)
            n += 1
    for name in ("frag", "one"):
        pysam.index(str(work / f"{name}.bam"))
    return {"contigs": len(bounds), "genes": sum(1 for r in frag if r[2] == "gene"), "reads": n}


def upstream_coverage(venv, work, name: str, timeout: int, total_contigs: int) -> dict:
    """Upstream add_ngs_coverage.py on a copy of our labels (it writes into its input), one thread: with more it
    fails on a BAM of several references (pool workers share one htslib handle: 'error while reading file: -4').
    When stopped, its progress (one 'chunks from' line per sequence) gives the rate."""
    import subprocess
    import time

    script = next((venv / "lib").glob("python3*/site-packages/helixer/evaluation/add_ngs_coverage.py"))
    copy = work / f"{name}.upstream_cov.h5"
    shutil.copy(work / f"{name}.labels.h5", copy)
    cmd = [str(venv / "bin/python"), str(script), "-s", "Athaliana", "-d", str(copy), "-b", str(work / f"{name}.bam"),
           "--dataset-prefix", "rnaseq", "--second-read-is-sense-strand", "--threads", "1"]
    log = work / f"{name}.upstream_cov.log"
    start = time.perf_counter()
    with open(log, "w") as out:
        try:
            code = subprocess.run(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = None
    seconds = time.perf_counter() - start
    done = sum(1 for line in open(log) if "chunks from" in line)
    copy.unlink()
    if code not in (0, None):
        raise RuntimeError(f"upstream add_ngs_coverage failed on {name}; see {log}")
    return {"s": seconds, "finished": code == 0, "sequences_done": done,
            "estimated_s": seconds if code == 0 else seconds * total_contigs / max(done, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--length", type=int, default=2025,
                    help="subsequence length of both inputs (default 2025: what helixer-fasta2h5 advises for these "
                         "contigs, their N50 rounded to a multiple of 9)")
    ap.add_argument("--upstream-timeout", type=int, default=1800)
    args = ap.parse_args()
    work = OUT / "fragmented"
    work.mkdir(parents=True, exist_ok=True)
    info_path = work / "inputs.json"
    if not info_path.exists():
        length = sum(len(line.strip()) for line in gzip.open(CHR1 / "chr1.fa.gz", "rt") if not line.startswith(">"))
        info_path.write_text(json.dumps(build(work, contig_bounds(length))))
    info = json.loads(info_path.read_text())
    print(f"inputs: {info}", flush=True)
    t = ["--threads", str(args.threads), "-q"]

    def steps(name):
        w = lambda f: str(work / f"{name}.{f}")  # noqa: E731
        return [
            ("fasta2h5", [ours("helixer-fasta2h5"), "-f", w("fa"), "-s", "Athaliana", "-o", w("h5"), "-l",
                          str(args.length), *t]),
            ("import2geenuff", [ours("helixer-import2geenuff"), "--gff3", w("gff3"), "--fasta", w("fa"), "-s",
                                "Athaliana", "-o", w("sqlite3"), "--log", w("import.log"), *t]),
            ("geenuff2h5", [ours("helixer-geenuff2h5"), "--db", w("sqlite3"), "--h5", w("h5"), "-o", w("labels.h5"), *t]),
            ("add-coverage", [ours("helixer-add-coverage"), "--h5", w("labels.h5"), "--bam", w("bam"), "-o",
                              w("cov.h5"), "--second-read-is-sense-strand", *t]),
            ("predict", [ours("helixer-predict"), "--model", str(MODEL), "--h5", w("h5"), "-o", w("preds.h5"), *t]),
            ("predict --overlap", [ours("helixer-predict"), "--model", str(MODEL), "--h5", w("h5"), "-o",
                                   w("preds_overlap.h5"), "--overlap", *t]),
            ("post", [ours("helixer-post"), "--h5", w("h5"), "--predictions", w("preds.h5"), "-o", w("gff3.out"), *t]),
        ]

    rows = []
    for (step, one_cmd), (_, frag_cmd) in zip(steps("one"), steps("frag")):
        runs = {"one": [], "frag": []}
        for r in range(args.repeats):
            for name, cmd in ((("one", one_cmd), ("frag", frag_cmd)) if r % 2 == 0 else (("frag", frag_cmd), ("one", one_cmd))):
                runs[name].append(measure(cmd))
                print(f"  {step} {name}: {runs[name][-1].seconds:.2f} s, {runs[name][-1].peak_rss_mb:.0f} MB", flush=True)
        rows.append({"step": step, "one_s": median_s(runs["one"]), "frag_s": median_s(runs["frag"]),
                     "one_mb": max_rss(runs["one"]), "frag_mb": max_rss(runs["frag"])})

    venv = upstream_venv()
    upstream = {name: upstream_coverage(venv, work, name, args.upstream_timeout, n)
                for name, n in (("one", 1), ("frag", info["contigs"]))}
    for name, up in upstream.items():
        print(f"  upstream add_ngs_coverage {name}: {up}", flush=True)

    with h5py.File(work / "one.h5") as one, h5py.File(work / "frag.h5") as frag:
        n_rows = {"one": len(one["data/X"]), "frag": len(frag["data/X"])}
    lines = [f"Inputs: A. thaliana chr1 as one sequence and as {info['contigs']:,} contigs (300 bp - 20 kbp), "
             f"{info['genes']:,} genes and {info['reads']:,} alignments inside contigs on both; both cut into "
             f"subsequences of {args.length} bp ({n_rows['one']:,} and {n_rows['frag']:,} rows: "
             f"{n_rows['frag'] / n_rows['one']:.2f}x, the contigs' padding); "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, --threads {args.threads}, "
             f"{args.repeats} run(s) each, interleaved.", "",
             "| step | one sequence s | contigs s | time ratio | one sequence peak MB | contigs peak MB |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['step']} | {r['one_s']:.2f} | {r['frag_s']:.2f} | **{r['frag_s'] / r['one_s']:.2f}x** | "
                     f"{r['one_mb']:.0f} | {r['frag_mb']:.0f} |")
    cov = next(r for r in rows if r["step"] == "add-coverage")
    lines += ["", "| add coverage | upstream add_ngs_coverage.py s (1 thread) | helixer-add-coverage s | speed-up |",
              "|---|---|---|---|"]
    for name, ours_s in (("one", cov["one_s"]), ("frag", cov["frag_s"])):
        up = upstream[name]
        label = "one sequence" if name == "one" else f"{info['contigs']:,} contigs"
        shown = (f"{up['s']:.1f}" if up["finished"] else
                 f"stopped after {up['s']:.0f} s at {up['sequences_done']:,} sequences; about {up['estimated_s']:.0f} "
                 "at that rate")
        lines.append(f"| {label} | {shown} | {ours_s:.2f} | **{up['estimated_s'] / ours_s:.0f}x** |")
    (OUT / "fragmented.md").write_text("\n".join(lines) + "\n")
    (OUT / "fragmented.json").write_text(json.dumps({"inputs": info, "length": args.length, "rows_of_h5": n_rows,
                                                     "rows": rows, "upstream": upstream}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
