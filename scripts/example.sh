#!/usr/bin/env bash
# The main job on bundled example data, the first 1 Mbp of A. thaliana chromosome 1 (tests/data):
# the training data of the fine-tuning routes (genome h5, GeenuFF database, labels h5 aligned with the
# genome h5, and the same with RNA-seq coverage), then fine-tuning by route 1 (the whole pretrained
# network), route 2 (a new head on the frozen network) and route 3 (the same, reading RNA-seq coverage),
# with metrics and training curves; last, the pretrained and the three tuned models predict the held-out
# subsequences (with --overlap) and are scored side by side against the reference gene models; and the
# product: gene models (GFF3) of the whole window from the route 3 model's predictions (helixer-post).
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

# Fine-tune: the window is one sequence, so it is split by region (helixer-split --by-region): blocks of
# 10 subsequences (213,840 bp, both strands together) to training or validation, seeded; a genome of many
# sequences is split by whole sequences (the default). The pretrained model is a small upstream Helixer
# model trained on Micromonas pusilla (tests/data): route 1 retrains all of it, route 2 trains a new head on
# it, route 3 one that also reads the RNA-seq coverage.
.venv/bin/helixer-split --h5 "$OUT/athaliana_1M.coverage.h5" --output-dir "$OUT" --by-region --block-size 213840 \
    --val-fraction 0.2 --seed 1 --report "$OUT/split.tsv"
PRETRAINED=tests/data/micromonas/upstream_models/tiny.h5
TRAIN_OPTS=(--data-dir "$OUT" --epochs 12 --patience 4 --batch-size 4 --learning-rate 1e-3 --class-weights 0.7,1.6,1.2,1.2
            --transition-weights 1,12,3,1,12,3 --threads "$T")
.venv/bin/helixer-train whole --pretrained "$PRETRAINED" "${TRAIN_OPTS[@]}" \
    --output "$OUT/route1.model.h5" --metrics "$OUT/route1.metrics.tsv" --plot "$OUT/route1.training.png"
.venv/bin/helixer-train head --pretrained "$PRETRAINED" --hidden-units 16 "${TRAIN_OPTS[@]}" \
    --output "$OUT/route2.model.h5" --metrics "$OUT/route2.metrics.tsv" --plot "$OUT/route2.training.png"
.venv/bin/helixer-train coverage --pretrained "$PRETRAINED" --hidden-units 16 "${TRAIN_OPTS[@]}" \
    --output "$OUT/route3.model.h5" --metrics "$OUT/route3.metrics.tsv" --plot "$OUT/route3.training.png"
for route in route1 route2 route3; do
    echo "$route: best validation genic F1 $(sort -t$'\t' -k7,7gr "$OUT/$route.metrics.tsv" | head -1 | cut -f7)" \
         "(metrics: $OUT/$route.metrics.tsv, curves: $OUT/$route.training.png)"
done

# Did tuning help? Predict the held-out subsequences with each model, score them side by side.
for model in pretrained route1 route2 route3; do
    path="$OUT/$model.model.h5"
    [ "$model" = pretrained ] && path="$PRETRAINED"
    .venv/bin/helixer-predict --model "$path" --h5 "$OUT/validation_data.h5" --overlap --threads "$T" \
        --output "$OUT/$model.predictions.h5"
done
.venv/bin/helixer-evaluate --labels "$OUT/validation_data.h5" --names pretrained route1 route2 route3 \
    --predictions "$OUT/pretrained.predictions.h5" "$OUT/route1.predictions.h5" "$OUT/route2.predictions.h5" "$OUT/route3.predictions.h5" \
    --output "$OUT/evaluation.tsv" --json "$OUT/evaluation.json" --plot "$OUT/evaluation.png"
cat "$OUT/evaluation.tsv"
echo "side by side: $OUT/evaluation.tsv, $OUT/evaluation.png"

# The product: gene models of the whole window from the route 3 model (it reads the RNA-seq coverage).
.venv/bin/helixer-predict --model "$OUT/route3.model.h5" --h5 "$OUT/athaliana_1M.coverage.h5" --overlap --threads "$T" \
    --output "$OUT/route3.genome.predictions.h5"
.venv/bin/helixer-post --h5 "$OUT/athaliana_1M.coverage.h5" --predictions "$OUT/route3.genome.predictions.h5" \
    --output "$OUT/route3.gff3" --stats "$OUT/route3.post_stats.tsv" --threads "$T"
echo "gene models of the tuned model: $OUT/route3.gff3 ($(grep -c $'\tgene\t' "$OUT/route3.gff3") genes;" \
     "agreement with its predictions: $OUT/route3.post_stats.tsv)"

# Share it: the route 3 model as upstream Helixer loads it (plus the trunk file its coverage inference needs),
# and the exact upstream command lines.
.venv/bin/helixer-export-model --model "$OUT/route3.model.h5" --output "$OUT/route3.upstream.h5" \
    --commands "$OUT/route3.upstream_commands.txt"
