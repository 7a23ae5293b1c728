#!/usr/bin/env bash
# Compatibility the other way round: upstream Helixer reads files written by helixer-tools.
# 1. Upstream's own models (../shared/upstream_fixtures/micromonas) predict on our fasta2h5 output and on
#    our add-coverage output (int32 coverage), and the predictions must match upstream's predictions on its
#    own files within float16 rounding.
# 2. Models tuned here (helixer-train, one epoch from the released-shape model: 4 convolutions, 3 BiLSTMs)
#    by every route, exported with helixer-export-model, predict in upstream HybridModel.py (with and without
#    --overlap, coverage models with the companion and flags the export prints) as helixer-predict does with
#    the originals, within 1e-3 on every unpadded base. Needs the upstream venv (../shared/upstream/setup_upstream_venv.sh;
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

# 2. tuned here, exported, predicted by upstream
P=$F/released_shape.h5
TRAIN=(-e 1 -b 8 --val-batch-size 8 -q)
.venv/bin/helixer-train whole -l "$P" --training "$F/labels.h5" --validation "$F/labels.h5" -o "$W/whole.h5" "${TRAIN[@]}"
.venv/bin/helixer-train head -l "$P" --hidden-units 8 --training "$F/labels.h5" --validation "$F/labels.h5" \
    -o "$W/head.h5" "${TRAIN[@]}"
.venv/bin/helixer-train coverage -l "$P" --hidden-units 8 --training "$W/coverage.h5" --validation "$W/coverage.h5" \
    -o "$W/coverage_model.h5" "${TRAIN[@]}"
.venv/bin/helixer-train coverage -l "$P" --join-at before-last-lstm --coverage-norm linear \
    --training "$W/coverage.h5" --validation "$W/coverage.h5" -o "$W/coverage_before_last.h5" "${TRAIN[@]}"
EXPORTS=()
for m in whole head coverage_model coverage_before_last; do
    data=$F/labels.h5; [[ $m == coverage* ]] && data=$W/coverage.h5
    .venv/bin/helixer-export-model -q --model "$W/$m.h5" -o "$W/$m.up.h5" --commands "$W/$m.commands"
    # the upstream command the export printed, on this data
    cmd=$(grep "^HybridModel.py" "$W/$m.commands" | sed "s|-t genome[.a-z]*h5|-t $data|; s|-p predictions.h5||")
    for ol in "" --overlap; do
        .venv/bin/helixer-predict -q --model "$W/$m.h5" --h5 "$data" -o "$W/$m.ours$ol.h5" $ol
        (cd "$W" && eval "$VENV/bin/$cmd -p $m.upstream$ol.h5 --val-test-batch-size 8 $ol" > "$m$ol.log" 2>&1) \
            || { tail -n 20 "$W/$m$ol.log"; exit 1; }
        EXPORTS+=("$m.ours$ol.h5:$m.upstream$ol.h5:$data")
    done
done
.venv/bin/python - "$W" "$F" "${EXPORTS[@]}" <<'PY'
import sys, h5py, numpy as np
w, f, *exports = sys.argv[1:]
ok = True
for item in exports:  # ours on the original : upstream on the export : the h5 both predicted on
    ours, theirs, data = item.split(":")
    with h5py.File(f"{w}/{ours}") as a, h5py.File(f"{w}/{theirs}") as b, h5py.File(data) as d:
        start_ends, length = d["data/start_ends"][:], d["data/X"].shape[1]
        for key in ("predictions", "predictions_phase"):
            mine, up = a[key][:].astype(np.float32), b[key][:].astype(np.float32)
            diff = 0.0
            for row, (s, e) in enumerate(start_ends):
                n = abs(int(e) - int(s))
                u = np.concatenate([up[row][length - n:], up[row][:length - n]]) if s > e and n < length else up[row]
                diff = max(diff, float(np.abs(mine[row][:n] - u[:n]).max()))
            good = diff <= 1e-3
            ok &= good
            print(f"upstream on exported {theirs.split('.')[0]}{' (overlap)' if 'overlap' in theirs else ''} vs "
                  f"helixer-predict on the original: {key} max |diff| {diff:.2e} {'ok' if good else 'DIFFERENT'}")
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
