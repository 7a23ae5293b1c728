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

    .venv/bin/python benchmarks/bench_scale.py [--copies 1 3 10] [--steps fasta2h5 predict ...] [--threads 2]

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

from common import OUT, ROOT, SHARED, measure, ours

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
    args = ap.parse_args()
    base = OUT / "scale"
    base.mkdir(parents=True, exist_ok=True)
    results_path = base / "scale.json"
    saved = json.loads(results_path.read_text()) if results_path.exists() else {"inputs": {}, "results": []}
    for copies in args.copies:
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
        if not args.keep:
            for f in work.iterdir():
                if f.name != "inputs.json":
                    f.unlink()
    report(saved, base)


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
