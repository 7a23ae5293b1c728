#!/usr/bin/env bash
# The main job on bundled example data, the first 1 Mbp of A. thaliana chromosome 1 (tests/data):
# the training data of the fine-tuning routes (genome h5, GeenuFF database, labels h5 aligned with the
# genome h5, and the same with RNA-seq coverage for route 3). Grows into a whole route as tools land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${1:-example_output}
mkdir -p "$OUT"
FASTA=tests/data/athaliana_1M/chr1_1M.fa.gz
GFF3=tests/data/athaliana_1M/chr1_1M.gff3.gz
T=$(nproc)
.venv/bin/helixer-fasta2h5 --fasta "$FASTA" --species Athaliana --output "$OUT/athaliana_1M.h5" --threads "$T"
.venv/bin/helixer-import2geenuff --gff3 "$GFF3" --fasta "$FASTA" --species Athaliana \
    --output "$OUT/athaliana_1M.sqlite3" --log "$OUT/athaliana_1M.import.log"
.venv/bin/helixer-geenuff2h5 --db "$OUT/athaliana_1M.sqlite3" --h5 "$OUT/athaliana_1M.h5" \
    --output "$OUT/athaliana_1M.labels.h5" --threads "$T"
.venv/bin/helixer-add-coverage --h5 "$OUT/athaliana_1M.labels.h5" --bam tests/data/athaliana_1M/chr1_1M.rnaseq.bam \
    --second-read-is-sense-strand --output "$OUT/athaliana_1M.coverage.h5" --threads "$T"
.venv/bin/python - "$OUT/athaliana_1M.coverage.h5" <<'PY'
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    y, w, cov = f["data/y"], f["data/sample_weights"], f["evaluation/rnaseq_coverage"]
    counts = np.zeros(4, dtype=np.int64)
    masked = 0
    for i in range(y.shape[0]):
        counts += y[i].sum(axis=0)
        masked += int((w[i] == 0).sum() - (y[i].sum(axis=1) == 0).sum())
    total = counts.sum()
    print(f"{sys.argv[1]}: {y.shape[0]} subsequences of {y.shape[1]} bp, both strands; bases: "
          + ", ".join(f"{name} {100 * c / total:.1f}%" for name, c in zip(("intergenic", "UTR", "CDS", "intron"), counts))
          + f"; {100 * masked / total:.1f}% masked as GeenuFF error regions")
    for col in json.loads(cov.attrs["helixer_tools_columns"]):
        print(f"coverage column {col['name']}: {col['reads']} alignments, "
              f"{100 * col['sense_fraction']:.1f}% of the coverage on genes on their strand ({col['strandedness']})")
PY
