#!/usr/bin/env bash
# Compatibility the other way round: upstream Helixer reads files written by helixer-tools.
# Upstream's own models (../shared/upstream_fixtures/micromonas) predict on our fasta2h5 output and on
# our add-coverage output (int32 coverage), and the predictions must match upstream's predictions on its
# own files within float16 rounding. Needs the upstream venv (../shared/upstream/setup_upstream_venv.sh;
# TensorFlow 2.15), so it is not part of scripts/test.sh.
#   usage: scripts/check_upstream_reads_ours.sh [UPSTREAM_VENV]   (default ~/.cache/helixer-tools/upstream-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${HELIXER_TOOLS_SHARED:-$ROOT/../shared}
VENV=${1:-${HELIXER_TOOLS_UPSTREAM_VENV:-$HOME/.cache/helixer-tools/upstream-venv}}
[[ -x $VENV/bin/HybridModel.py ]] || bash "$SHARED/upstream/setup_upstream_venv.sh" "$VENV"
F=$SHARED/upstream_fixtures/micromonas
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore
.venv/bin/helixer-fasta2h5 -q -f "$SHARED/data/micromonas/micromonas.fa" -s Mpusilla -o "$W/fasta.h5"
.venv/bin/helixer-add-coverage -q --h5 "$F/labels.h5" --bam "$SHARED/data/micromonas/micromonas.rnaseq.bam" \
    --second-read-is-sense-strand -o "$W/coverage.h5"
(cd "$W" && "$VENV/bin/HybridModel.py" -l "$F/tiny.h5" -t fasta.h5 -p fasta.preds.h5 --val-test-batch-size 8 > fasta.log 2>&1)
(cd "$W" && "$VENV/bin/HybridModel.py" -l "$F/tiny.ft_cov.h5" --pretrained-model-path "$F/tiny.h5" -t coverage.h5 \
    -p coverage.preds.h5 --val-test-batch-size 8 --input-coverage --coverage-norm log --post-coverage-hidden-layer > cov.log 2>&1)
.venv/bin/python - "$W" "$F" <<'PY'
import sys, h5py, numpy as np
w, f = sys.argv[1:]
ok = True
for ours, ref in (("fasta.preds.h5", "tiny.predictions.h5"), ("coverage.preds.h5", "tiny.ft_cov.predictions.h5")):
    with h5py.File(f"{w}/{ours}") as a, h5py.File(f"{f}/{ref}") as b:
        for key in ("predictions", "predictions_phase"):
            diff = float(np.abs(a[key][:].astype(np.float32) - b[key][:].astype(np.float32)).max())
            good = diff <= 1e-3
            ok &= good
            print(f"upstream on our {ours.split('.')[0]} h5 vs upstream on its own: {key} max |diff| {diff:.2e} "
                  f"{'ok' if good else 'DIFFERENT'}")
print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
sys.exit(0 if ok else 1)
PY
