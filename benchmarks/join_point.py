"""Where should RNA-seq coverage join a pretrained network (route 3)? Measured on A. thaliana chromosome 1.

    .venv/bin/python benchmarks/join_point.py [--epochs 3] [--pretrain-epochs 4] [--seeds 1 2]

Upstream joins coverage two layers before the pretrained model's final Dense, which for models without
dropout (all released ones) drops the last BiLSTM layer. helixer-train offers ``--join-at last-lstm``
(keep every pretrained layer) and ``--join-at before-last-lstm`` (upstream). This script:

1. makes chr1's labels with coverage through our tools (fasta2h5, import2geenuff, geenuff2h5,
   add-coverage; the simulated stranded RNA-seq BAM of ../shared/data/athaliana_chr1);
2. splits the subsequences by position, both strands: A = 0-10 Mbp, B = 10-20 Mbp, C = 20 Mbp-end;
3. pretrains a small HybridModel (2 conv x 16, kernel 9, 2 BiLSTM x 16) from scratch on A (validated on C);
4. fine-tunes it on B, validated on C: route 2 (no coverage) and route 3 with each join point, with the
   same seeds, data, hidden layer (16) and optimiser settings;
5. reports the best validation genic F1 of each (and of the pretrained model itself) on C.

No GPU is needed; it takes about half an hour on 2 cores. Writes benchmarks/out/join_point.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np

from common import OUT, ROOT, SHARED, ours

sys.path.insert(0, str(ROOT))
from helixer_tools import model as M  # noqa: E402
from helixer_tools import train as T  # noqa: E402
from helixer_tools.h5io import copy_rows  # noqa: E402
from helixer_tools.spec import Trunk  # noqa: E402
from helixer_tools.training_data import BatchStream, open_parts  # noqa: E402

OPTS = dict(batch_size=8, val_batch_size=32, class_weights=(0.7, 1.6, 1.2, 1.2),
            transition_weights=(1, 12, 3, 1, 12, 3), threads=os.cpu_count() or 1, patience=10)


def run(cmd):
    subprocess.run([str(c) for c in cmd], check=True)


def chr1_coverage(work):
    out = work / "chr1.coverage.h5"
    if out.exists():
        return out
    data = SHARED / "data/athaliana_chr1"
    run([ours("helixer-fasta2h5"), "--fasta", data / "chr1.fa.gz", "--species", "Athaliana", "--output",
         work / "chr1.h5", "-q", "--threads", "2"])
    run([ours("helixer-import2geenuff"), "--gff3", data / "chr1.gff3.gz", "--fasta", data / "chr1.fa.gz",
         "--species", "Athaliana", "--output", work / "chr1.sqlite3", "--log", work / "import.log", "-q"])
    run([ours("helixer-geenuff2h5"), "--db", work / "chr1.sqlite3", "--h5", work / "chr1.h5", "--output",
         work / "chr1.labels.h5", "-q", "--threads", "2"])
    run([ours("helixer-add-coverage"), "--h5", work / "chr1.labels.h5", "--bam", data / "chr1.rnaseq.bam",
         "--second-read-is-sense-strand", "--output", out, "-q", "--threads", "2"])
    return out


def split(source, work):
    parts = {name: work / f"{name}.h5" for name in "ABC"}
    if all(p.exists() for p in parts.values()):
        return parts
    with h5py.File(source) as f:
        lo = f["data/start_ends"][:].min(axis=1)
    where = {"A": lo < 10_000_000, "B": (lo >= 10_000_000) & (lo < 20_000_000), "C": lo >= 20_000_000}
    for name, path in parts.items():
        copy_rows(source, path, np.flatnonzero(where[name]), "join_point.py", [])
    return parts


def best(summary):
    return max(r["genic_f1"] for r in summary["rows"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--pretrain-epochs", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    work = OUT / "join_point"
    work.mkdir(parents=True, exist_ok=True)
    parts = split(chr1_coverage(work), work)
    pretrained = work / "pretrained.h5"
    results = {}
    start = time.monotonic()
    if not pretrained.exists():
        spec, _ = T.scratch_spec(Trunk(cnn_layers=2, filter_depth=16, kernel_size=9, lstm_layers=2, units=16))
        s = T.train(spec, None, [str(parts["A"])], [str(parts["C"])], str(pretrained),
                    T.TrainOptions(epochs=args.pretrain_epochs, learning_rate=3e-3, seed=0, **OPTS), progress=False)
        results["pretrain_rows"] = s["rows"]
    net, spec = M.load(pretrained)
    net.compile(jit_compile=T.use_xla())
    stream = BatchStream(open_parts([str(parts["C"])], "validation", None), 32, 9)
    results["pretrained_on_C"] = T.validate(net, stream)
    stream.close()
    print(f"pretrained model on C: genic F1 {results['pretrained_on_C']['genic_f1']:.4f}", flush=True)
    variants = {
        "route 2 (no coverage)": lambda: T.head_spec(str(pretrained), hidden_units=16),
        "route 3, --join-at last-lstm": lambda: T.coverage_spec(str(pretrained), 16, "log", "last-lstm"),
        "route 3, --join-at before-last-lstm (upstream)": lambda: T.coverage_spec(str(pretrained), 16, "log",
                                                                                  "before-last-lstm"),
    }
    results["variants"] = {}
    for name, make in variants.items():
        scores = []
        for seed in args.seeds:
            spec, weights = make()
            s = T.train(spec, weights, [str(parts["B"])], [str(parts["C"])], str(work / "tuned.h5"),
                        T.TrainOptions(epochs=args.epochs, learning_rate=1e-3, seed=seed, **OPTS), progress=False)
            scores.append({"seed": seed, "best_genic_f1": best(s), "rows": s["rows"]})
            print(f"{name}, seed {seed}: best genic F1 {best(s):.4f}", flush=True)
        results["variants"][name] = scores
    lines = ["| model (validated on chr1 20 Mbp-end) | best validation genic F1 per seed | mean |", "|---|---|---|",
             f"| pretrained (2 conv, 2 BiLSTM; trained on 0-10 Mbp), not tuned | "
             f"{results['pretrained_on_C']['genic_f1']:.4f} | |"]
    for name, scores in results["variants"].items():
        values = [s["best_genic_f1"] for s in scores]
        lines.append(f"| {name}, tuned on 10-20 Mbp | {', '.join(f'{v:.4f}' for v in values)} | "
                     f"**{np.mean(values):.4f}** |")
    text = "\n".join(lines) + (f"\n\n{args.epochs} fine-tuning epochs per run, seeds {args.seeds}, hidden layer 16, "
                               f"learning rate 1e-3, coverage log-normalised; {time.monotonic() - start:.0f} s\n")
    print("\n" + text)
    (OUT / "join_point.md").write_text(text)
    (OUT / "join_point.json").write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
