"""Plant-sized genomes: what each step costs as the genome grows, from genome to GFF3 (issue 28).

Synthetic genomes of 1, 3 and 10 copies of A. thaliana chromosome 1 (30.4, 91.3 and 304 Mbp; ``--copies``):
each copy a renamed sequence with its own point mutations (``--mutation-rate``, seeded; copy 0 is the
chromosome itself), its RefSeq gene models lifted with it (ids prefixed per copy) and its simulated RNA-seq
alignments (one BAM, the copies' references in genome order). Every step runs one at a time, ``--threads 2``:

- annotate chain: helixer-fasta2h5, helixer-predict (the bundled A. thaliana model, ``--overlap``),
  helixer-post;
- label chain: helixer-import2geenuff, helixer-geenuff2h5 (joined on the fasta2h5 rows), helixer-add-coverage,
  helixer-select (the predictions against the reference labels, half kept), helixer-split, helixer-evaluate
  base-wise (labels vs predictions) and gene level (reference GFF3 vs predicted GFF3).

For each step and size: wall time, peak RSS (the process tree's largest, from wait4, as GNU time reports it),
the size of what it wrote, and the ratios to the smallest genome: memory (goal <= 1.25x) and time per Mbp
(goal <= 1.2x of linear). Writes benchmarks/out/scale/{scale.md,scale.json} and docs/scale.png (log-log).

With ``--upstream``, the steps upstream Helixer also has run side by side with it on the same genome, one
after the other (the order alternating between sizes), both ``--threads 2`` where upstream takes it:
fasta2h5.py, rare-geenuff-import, geenuff2h5.py (ours on upstream's database, the same work) and
add_ngs_coverage.py (both on upstream's labels). Each pair's outputs are compared (every dataset; the
databases table by table). An upstream step whose peak at a smaller genome, scaled linearly, would not fit
in 85% of this machine's memory is skipped, and the table says so. Writes benchmarks/out/scale/upstream.{md,json}.

    .venv/bin/python benchmarks/bench_scale.py [--copies 1 3 10] [--steps fasta2h5 predict ...] [--threads 2]
    .venv/bin/python benchmarks/bench_scale.py --upstream --steps upstream --keep

Needs ../shared/data/athaliana_chr1 (or $HELIXER_TOOLS_SHARED) and about 25 GB of disk at 10 copies. Run it
on a quiet machine and say the load: the ratios are only as good as the machine is steady.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from common import OUT, ROOT, SHARED, measure, ours, upstream_venv

CHR1 = SHARED / "data/athaliana_chr1"
SOURCE = {"fasta": CHR1 / "chr1.fa.gz", "gff3": CHR1 / "chr1.gff3.gz", "bam": CHR1 / "chr1.rnaseq.bam"}
MODEL = ROOT / "tests/data/athaliana_1M/chr1_0-10M.model.h5"
SPECIES = "Athaliana"


def read_one_sequence(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        lines = f.read().splitlines()
    assert sum(line.startswith(b">") for line in lines) == 1, f"{path}: one sequence expected"
    return np.frombuffer(b"".join(line.strip() for line in lines[1:]), dtype=np.uint8)


def mutate(seq: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Point substitutions at ``rate`` on A/C/G/T bases (N and soft-masking kept as they are)."""
    rng = np.random.default_rng(seed)
    out = seq.copy()
    where = np.flatnonzero(rng.random(len(seq)) < rate)
    upper = out[where] & 0xDF
    acgt = np.isin(upper, np.frombuffer(b"ACGT", np.uint8))
    where, upper = where[acgt], upper[acgt]
    bases = np.frombuffer(b"ACGT", np.uint8)
    shift = rng.integers(1, 4, len(where))
    new = bases[(np.searchsorted(bases, upper) + shift) % 4]
    out[where] = new | (out[where] & 0x20)  # keep the case (soft-masking)
    return out


def build(work: Path, copies: int, rate: float = 1e-3, source: dict = SOURCE) -> dict:
    """genome.fa, genome.gff3 and genome.bam (+ .bai) of ``copies`` copies of one sequence (default: chromosome 1)
    with its gene models (gzip GFF3) and RNA-seq alignments."""
    import pysam

    seq = read_one_sequence(source["fasta"])
    names = [f"c{k}_chr1" for k in range(copies)]
    with open(work / "genome.fa", "wb") as f:
        for k, name in enumerate(names):
            s = seq if k == 0 else mutate(seq, rate, seed=k)
            f.write(f">{name}\n".encode())
            for i in range(0, len(s), 80):
                f.write(s[i:i + 80].tobytes() + b"\n")
    rows = [line.rstrip("\n").split("\t") for line in gzip.open(source["gff3"], "rt")
            if line.strip() and not line.startswith("#")]
    genes = 0
    with open(work / "genome.gff3", "w") as f:
        f.write("##gff-version 3\n")
        for k, name in enumerate(names):
            prefix = f"c{k}_"
            for r in rows:
                attrs = ";".join(
                    f"{key}={','.join(prefix + v for v in value.split(','))}" if key in ("ID", "Parent") else f"{key}={value}"
                    for key, value in (kv.split("=", 1) for kv in r[8].split(";") if "=" in kv))
                f.write("\t".join([name, *r[1:8], attrs]) + "\n")
                genes += r[2] == "gene"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": len(seq)} for n in names]}
    # the alignments once under the genome's header (all on copy 0), so each copy can move them to its own id
    staged = work / ".alignments.bam"
    with pysam.AlignmentFile(source["bam"]) as src, pysam.AlignmentFile(staged, "wb", header=header) as out:
        for read in src.fetch(until_eof=True):
            if not read.is_unmapped:
                d = read.to_dict()
                d["ref_name"] = names[0]
                if d["next_ref_name"] not in ("*", "="):
                    d["next_ref_name"] = names[0]
                out.write(pysam.AlignedSegment.from_dict(d, out.header))
    reads = 0
    with pysam.AlignmentFile(work / "genome.bam", "wb", header=header) as out:
        for k in range(copies):
            with pysam.AlignmentFile(staged) as src:
                for read in src.fetch(until_eof=True):
                    read.reference_id = k
                    read.next_reference_id = k if read.next_reference_id >= 0 else -1
                    out.write(read)
                    reads += 1
    staged.unlink()
    pysam.index(str(work / "genome.bam"))
    return {"copies": copies, "mbp": copies * len(seq) / 1e6, "genes": genes, "alignments": reads}


# helixer-train's input stream, alone (the model's memory is the same at any genome size): 64 shuffled batches of
# 8 with coverage from three genome h5 files (3x the genome: 912 Mbp at 10 copies), as an epoch reads them
STREAM = """
import sys
from helixer_tools.training_data import BatchStream, Coverage, open_parts, prefetch
parts = open_parts(sys.argv[1:], "training", "rnaseq")
stream = BatchStream(parts, 8, 9, Coverage("rnaseq", len(parts[0].columns), "log"), shuffle=True, seed=0)
for i, batch in enumerate(prefetch(stream.epoch(0))):
    if i == 63:
        break
print(stream.n_rows)
"""


def steps(work: Path, threads: int) -> list[tuple[str, list[str], list[str]]]:
    """(step, command, the files it writes)."""
    w = lambda f: str(work / f)  # noqa: E731
    t = ["--threads", str(threads), "-q"]
    return [
        ("fasta2h5", [ours("helixer-fasta2h5"), "-f", w("genome.fa"), "-s", SPECIES, "-o", w("genome.h5"), *t],
         ["genome.h5"]),
        ("predict --overlap", [ours("helixer-predict"), "--model", str(MODEL), "--h5", w("genome.h5"), "-o",
                               w("predictions.h5"), "--overlap", *t], ["predictions.h5"]),
        ("post", [ours("helixer-post"), "--h5", w("genome.h5"), "--predictions", w("predictions.h5"), "-o",
                  w("predicted.gff3"), *t], ["predicted.gff3"]),
        ("import2geenuff", [ours("helixer-import2geenuff"), "--gff3", w("genome.gff3"), "--fasta", w("genome.fa"),
                            "-s", SPECIES, "-o", w("genome.sqlite3"), "--log", w("import.log"), *t], ["genome.sqlite3"]),
        ("geenuff2h5", [ours("helixer-geenuff2h5"), "--db", w("genome.sqlite3"), "--h5", w("genome.h5"), "-o",
                        w("labels.h5"), *t], ["labels.h5"]),
        ("add-coverage", [ours("helixer-add-coverage"), "--h5", w("labels.h5"), "--bam", w("genome.bam"), "-o",
                          w("coverage.h5"), "--second-read-is-sense-strand", *t], ["coverage.h5"]),
        ("select", [ours("helixer-select"), "--labels", w("coverage.h5"), "--predictions", w("predictions.h5"),
                    "--keep-fraction", "0.5", "-o", w("selected.h5"), "--table", w("selected.tsv"), *t],
         ["selected.h5", "selected.tsv"]),
        ("split", [ours("helixer-split"), "--h5", w("selected.h5"), "--training", w("training.h5"), "--validation",
                   w("validation.h5"), "--by-region", *t], ["training.h5", "validation.h5"]),
        ("training stream", [str(ROOT / ".venv/bin/python"), "-c", STREAM, w("coverage.h5"), w("coverage.h5"),
                             w("coverage.h5")], []),
        ("evaluate base-wise", [ours("helixer-evaluate"), "--labels", w("labels.h5"), "--predictions",
                                w("predictions.h5"), "--output", w("basewise.tsv"), *t], ["basewise.tsv"]),
        ("evaluate gene level", [ours("helixer-evaluate"), "--reference", w("genome.gff3"), "--gff3",
                                 w("predicted.gff3"), "--output", w("genelevel.tsv"), *t], ["genelevel.tsv"]),
    ]


def table_digests(db: Path) -> dict[str, tuple[int, str]]:
    """Each table of a SQLite database: its row count and the md5 of its rows in primary-key order."""
    import hashlib
    import sqlite3

    out = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").fetchall():
            digest, n = hashlib.md5(), 0
            for row in con.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
                n += 1
            out[table] = (n, digest.hexdigest())
    return out


def same_coverage(a: Path, b: Path) -> bool:
    import h5py

    with h5py.File(a) as x, h5py.File(b) as y:
        for key in ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage"):
            if x[key].shape != y[key].shape:
                return False
            for i in range(0, x[key].shape[0], 256):
                if not np.array_equal(x[key][i:i + 256], y[key][i:i + 256]):
                    return False
    return True


def upstream_pairs(work: Path, venv: Path, threads: int) -> list[tuple]:
    """(step, upstream's command, ours, their outputs, what is made before upstream's, the check of their outputs)
    for the steps upstream also has."""
    from bench_fasta2h5 import same_arrays
    from bench_geenuff2h5 import all_equal

    w = lambda f: str(work / f)  # noqa: E731
    py = str(venv / "bin/python")
    coverage = next((venv / "lib").glob("python3*/site-packages/helixer/evaluation/add_ngs_coverage.py"))
    t = ["--threads", str(threads), "-q"]

    def same_db():
        a, b = table_digests(work / "up.sqlite3"), table_digests(work / "ours_up.sqlite3")
        a.pop("sqlite_stat1", None)  # ANALYZE's statistics
        differ = [k for k in a if a[k] != b.get(k)]
        return (f"{len(a) - len(differ)} of {len(a)} tables identical" + (f", not {', '.join(differ)}" if differ else "")
                + "".join(f"; ours adds {k}" for k in b if k not in a and k != "sqlite_stat1"))

    def fresh_labels():  # upstream's add_ngs_coverage writes into the labels file it is given
        import shutil

        shutil.copy(work / "up_labels.h5", work / "up_coverage.h5")

    return [
        ("fasta2h5", [py, str(venv / "bin/fasta2h5.py"), "--species", SPECIES, "--fasta-path", w("genome.fa"),
                      "--h5-output-path", w("up_genome.h5")],
         [ours("helixer-fasta2h5"), "-f", w("genome.fa"), "-s", SPECIES, "-o", w("ours_up_genome.h5"), *t],
         ["up_genome.h5", "ours_up_genome.h5"], None, lambda: "yes" if same_arrays(work / "up_genome.h5", work / "ours_up_genome.h5") else "NO"),
        ("import", [str(venv / "bin/rare-geenuff-import"), "--gff3", w("genome.gff3"), "--fasta", w("genome.fa"),
                    "--db-path", w("up.sqlite3"), "--log-file", w("up_import.log"), "--species", SPECIES],
         [ours("helixer-import2geenuff"), "--gff3", w("genome.gff3"), "--fasta", w("genome.fa"), "-s", SPECIES,
          "-o", w("ours_up.sqlite3"), "--log", w("ours_up_import.log"), *t],
         ["up.sqlite3", "ours_up.sqlite3"], None, same_db),
        ("geenuff2h5", [py, str(venv / "bin/geenuff2h5.py"), "--input-db-path", w("up.sqlite3"),
                        "--h5-output-path", w("up_labels.h5")],
         [ours("helixer-geenuff2h5"), "--db", w("up.sqlite3"), "-o", w("ours_up_labels.h5"), *t],
         ["up_labels.h5", "ours_up_labels.h5"], None, lambda: "yes" if all_equal(work / "ours_up_labels.h5", work / "up_labels.h5") else "NO"),
        ("add-coverage", [py, str(coverage), "-s", SPECIES, "-d", w("up_coverage.h5"), "-b", w("genome.bam"),
                          "--dataset-prefix", "rnaseq", "--second-read-is-sense-strand", "--threads", str(threads)],
         [ours("helixer-add-coverage"), "--h5", w("up_labels.h5"), "--bam", w("genome.bam"), "-o",
          w("ours_up_coverage.h5"), "--second-read-is-sense-strand", *t],
         ["up_coverage.h5", "ours_up_coverage.h5"], fresh_labels, lambda: "yes" if same_coverage(work / "up_coverage.h5", work / "ours_up_coverage.h5") else "NO"),
    ]


def run_upstream(saved: dict, work: Path, copies: int, mbp: float, threads: int, upstream_first: bool,
                 only: list[str] | None) -> None:
    """Each step upstream also has, upstream's and ours one after the other on this genome (see the docstring)."""
    venv = upstream_venv()
    budget = 0.85 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e6
    rows = saved.setdefault("upstream", [])
    for step, up_cmd, our_cmd, outputs, prepare, check in upstream_pairs(work, venv, threads):
        if only and "upstream" not in only and f"upstream:{step}" not in only:
            continue
        for name in outputs:  # an earlier run's
            (work / name).unlink(missing_ok=True)
        smaller = [r for r in rows if r["step"] == step and r["copies"] < copies and r.get("upstream_s")]
        nearest = max(smaller, key=lambda r: r["copies"], default=None)  # scaled linearly from the nearest size
        need = nearest["upstream_mb"] * mbp / nearest["mbp"] if nearest else 0
        row = {"step": step, "copies": copies, "mbp": mbp, "load_before": os.getloadavg()[0]}
        if step == "add-coverage" and not (work / "up_labels.h5").exists():
            row["skipped"] = "both need upstream's labels, which geenuff2h5.py could not make here"
        elif need > budget:
            row["skipped"] = f"upstream would need ~{need / 1e3:.0f} GB, more than 85% of this machine's memory"
            run = measure(our_cmd)
            row |= {"ours_s": run.seconds, "ours_mb": run.peak_rss_mb}
        else:
            order = ("upstream", "ours") if upstream_first else ("ours", "upstream")
            for who in order:
                if who == "upstream" and prepare:
                    prepare()
                run = measure(up_cmd if who == "upstream" else our_cmd)
                row |= {f"{who}_s": run.seconds, f"{who}_mb": run.peak_rss_mb}
            row["equal"] = check()
        rows[:] = [r for r in rows if (r["step"], r["copies"]) != (step, copies)] + [row]
        (OUT / "scale" / "scale.json").write_text(json.dumps(saved, indent=1))
        print(f"  x{copies} vs upstream {step}: {row}", flush=True)


def report_upstream(saved: dict, base: Path) -> None:
    lines = ["| step | genome Mbp | upstream s / peak MB | ours s / peak MB | speed-up | memory, ours / upstream "
             "| outputs equal | load before |", "|---|---|---|---|---|---|---|---|"]
    for r in sorted(saved.get("upstream", []), key=lambda r: (r["step"], r["mbp"])):
        ours_cell = f"{r['ours_s']:.1f} / {r['ours_mb']:.0f}" if "ours_s" in r else "-"
        if "skipped" in r:
            lines.append(f"| {r['step']} | {r['mbp']:.0f} | skipped: {r['skipped']} | {ours_cell} | | | | "
                         f"{r['load_before']:.2f} |")
            continue
        lines.append(f"| {r['step']} | {r['mbp']:.0f} | {r['upstream_s']:.1f} / {r['upstream_mb']:.0f} | {ours_cell} "
                     f"| **{r['upstream_s'] / r['ours_s']:.1f}x** | {r['ours_mb'] / r['upstream_mb']:.2f} | {r['equal']} "
                     f"| {r['load_before']:.2f} |")
    (base / "upstream.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import NullFormatter

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.5))
    sizes = sorted({r["mbp"] for r in results})
    colours = plt.get_cmap("tab20").colors
    for i, step in enumerate(dict.fromkeys(r["step"] for r in results)):
        rows = sorted((r for r in results if r["step"] == step), key=lambda r: r["mbp"])
        x = [r["mbp"] for r in rows]
        style = dict(marker="os^Dv"[i % 5], color=colours[(2 * i) % 20 + (i >= 10)], label=step)
        ax_t.plot(x, [r["s"] for r in rows], **style)
        ax_m.plot(x, [r["peak_mb"] for r in rows], **style)
    first = min(sizes)
    lo = min(r["s"] for r in results if r["mbp"] == first)
    ax_t.plot(sizes, [lo * s / first for s in sizes], "k--", lw=0.8, label="linear")
    for ax, title, unit in ((ax_t, "wall time", "s"), (ax_m, "peak memory (RSS)", "MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("genome size (Mbp)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.set_xticks(sizes, [f"{s:.0f}" for s in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    ax_m.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("helixer-tools from genome to GFF3, --threads 2, one step at a time")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.part.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 3, 10])
    ap.add_argument("--steps", nargs="+", help="only these steps (their inputs must be there from an earlier run)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mutation-rate", type=float, default=1e-3)
    ap.add_argument("--keep", action="store_true", help="keep each genome's files (default: removed after its run)")
    ap.add_argument("--upstream", action="store_true",
                    help="also run upstream Helixer's fasta2h5, import, geenuff2h5 and add_ngs_coverage side by side "
                         "(steps: upstream for all four, or upstream:import ...; needs the upstream venv)")
    args = ap.parse_args()
    base = OUT / "scale"
    base.mkdir(parents=True, exist_ok=True)
    results_path = base / "scale.json"
    saved = json.loads(results_path.read_text()) if results_path.exists() else {"inputs": {}, "results": []}
    for i, copies in enumerate(args.copies):
        work = base / f"x{copies}"
        work.mkdir(exist_ok=True)
        info_path = work / "inputs.json"
        if not info_path.exists():
            start = time.perf_counter()
            info = build(work, copies, args.mutation_rate)
            info_path.write_text(json.dumps(info))
            print(f"built {copies} copies in {time.perf_counter() - start:.0f} s: {info}", flush=True)
        info = json.loads(info_path.read_text())
        saved["inputs"][str(copies)] = info
        for step, cmd, outputs in steps(work, args.threads):
            if args.steps and step.split()[0] not in args.steps and step not in args.steps:
                continue
            load = os.getloadavg()[0]
            run = measure(cmd)
            size = sum((work / f).stat().st_size for f in outputs) / 1e6
            row = {"step": step, "copies": copies, "mbp": info["mbp"], "s": run.seconds, "peak_mb": run.peak_rss_mb,
                   "output_mb": size, "load_before": load}
            saved["results"] = [r for r in saved["results"] if (r["step"], r["copies"]) != (step, copies)] + [row]
            results_path.write_text(json.dumps(saved, indent=1))
            print(f"  x{copies} {step}: {run.seconds:.1f} s, {run.peak_rss_mb:.0f} MB, {size:.1f} MB written "
                  f"(load {load:.2f})", flush=True)
        if args.upstream and (not args.steps or any(s.startswith("upstream") for s in args.steps)):
            run_upstream(saved, work, copies, info["mbp"], args.threads, upstream_first=i % 2 == 0, only=args.steps)
        if not args.keep:
            for f in work.iterdir():
                if f.name != "inputs.json":
                    f.unlink()
    if saved["results"]:
        report(saved, base)
    if saved.get("upstream"):
        report_upstream(saved, base)


def report(saved: dict, base: Path) -> None:
    results = saved["results"]
    sizes = sorted({r["copies"] for r in results})
    first = sizes[0]
    by = {(r["step"], r["copies"]): r for r in results}
    head = " | ".join(f"{saved['inputs'][str(c)]['mbp']:.0f} Mbp s / MB / out MB" for c in sizes)
    lines = [f"{platform.machine()}, {os.cpu_count()} cores; one step at a time; ratios against "
             f"{saved['inputs'][str(first)]['mbp']:.1f} Mbp: time per Mbp (1.00 = linear) and peak memory.", "",
             f"| step | {head} | " + " | ".join(f"x{c} time/linear | x{c} memory" for c in sizes[1:]) + " |",
             "|---" * (1 + len(sizes) + 2 * (len(sizes) - 1)) + "|"]
    for step in dict.fromkeys(r["step"] for r in results):
        if (step, first) not in by:
            continue
        cells = [f"{by[step, c]['s']:.1f} / {by[step, c]['peak_mb']:.0f} / {by[step, c]['output_mb']:.1f}"
                 if (step, c) in by else "" for c in sizes]
        ratios = []
        for c in sizes[1:]:
            if (step, c) in by:
                lin = (by[step, c]["s"] / by[step, first]["s"]) / (by[step, c]["mbp"] / by[step, first]["mbp"])
                mem = by[step, c]["peak_mb"] / by[step, first]["peak_mb"]
                ratios += [f"{lin:.2f}", f"{mem:.2f}"]
            else:
                ratios += ["", ""]
        lines.append(f"| {step} | " + " | ".join(cells + ratios) + " |")
    (base / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if len(sizes) > 1:
        plot(results, ROOT / "docs" / "scale.png")


if __name__ == "__main__":
    main()
