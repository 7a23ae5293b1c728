#!/usr/bin/env bash
# The main job on bundled example data: the first 1 Mbp of A. thaliana chromosome 1 (tests/data)
# encoded as Helixer's h5 input. Grows into a whole fine-tuning route as the tools land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${1:-example_output}
mkdir -p "$OUT"
.venv/bin/helixer-fasta2h5 \
    --fasta tests/data/athaliana_1M/chr1_1M.fa.gz \
    --species Athaliana \
    --output "$OUT/athaliana_1M.h5" \
    --threads "$(nproc)"
.venv/bin/python - "$OUT/athaliana_1M.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    X, se = f["data/X"], f["data/start_ends"][:]
    print(f"{sys.argv[1]}: {X.shape[0]} subsequences of {X.shape[1]} bp "
          f"({(se[:, 0] < se[:, 1]).sum()} plus strand, {(se[:, 0] > se[:, 1]).sum()} minus strand), "
          f"species {f['data/species'][0].decode()}, sequences {sorted({s.decode() for s in f['data/seqids'][:]})}")
PY
