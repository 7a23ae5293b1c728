#!/usr/bin/env bash
# usage: bash scripts/example.sh [OUTPUT_DIR]        (default: example_output; a few minutes on 2 CPU cores)
#
# The main job, on bundled data: fine-tune a pretrained Helixer model for a genome it has not seen, by
# the three routes of Helixer's fine-tuning guide, and show whether it helped, as gene models (GFF3) and
# one HTML report.
#
#   genome     A. thaliana chromosome 1, 20-21 Mbp (tests/data/athaliana_20M): FASTA, RefSeq gene models,
#              simulated stranded RNA-seq (BAM)
#   pretrained a small Helixer model trained on chromosome 1, 0-10 Mbp (tests/data/athaliana_1M): it has
#              never seen this window, as a released model has never seen your genome
#   held out   20 % of the window (helixer-split --by-region): no route trains on it or chooses a checkpoint
#              on it (a quarter of the rest validates); every score below is measured there
#
# Steps: the window's genome h5, GeenuFF database and labels (+ RNA-seq coverage); the training /
# validation split; the pretrained model's predictions and gene models (helixer-predict, helixer-post);
# route 1 (retrain the whole network), route 2 (a new head on the frozen network), route 3 (a new head
# reading RNA-seq coverage too), each then predicting the window and making its gene models; last,
# helixer-evaluate compares every model with the reference on the held-out sequence, base-wise and gene
# level, and the route 3 model is exported for upstream Helixer.
#
# Outputs (OUTPUT_DIR/):
#   pretrained.gff3, route1.gff3, route2.gff3, route3.gff3   gene models of the window from each model
#   report.html                 the comparison, base-wise and gene level, tables and plots (open in a browser)
#   evaluation.tsv              the same numbers as a table
#   routeN.model.h5, routeN.metrics.tsv, routeN.training.png   each tuned model, its validation checks, curves
#   route3.upstream.h5 (+ .pretrained.h5, _commands.txt)       the route 3 model as upstream Helixer loads it
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${1:-example_output}
mkdir -p "$OUT"
DATA=tests/data/athaliana_20M
FASTA=$DATA/chr1_20M.fa.gz
GFF3=$DATA/chr1_20M.gff3.gz
BAM=$DATA/chr1_20M.rnaseq.bam
PRETRAINED=tests/data/athaliana_1M/chr1_0-10M.model.h5
T=$(nproc)
step() { printf '\n== %s\n' "$*"; }

step "1/6 training data: genome h5, gene models, labels, RNA-seq coverage"
.venv/bin/helixer-fasta2h5 --fasta "$FASTA" --species Athaliana --output "$OUT/genome.h5" --threads "$T"
.venv/bin/helixer-import2geenuff --gff3 "$GFF3" --fasta "$FASTA" --species Athaliana \
    --output "$OUT/genome.sqlite3" --log "$OUT/import.log" --summary "$OUT/import_summary.tsv"
.venv/bin/helixer-geenuff2h5 --db "$OUT/genome.sqlite3" --h5 "$OUT/genome.h5" --output "$OUT/labels.h5" --threads "$T"
.venv/bin/helixer-add-coverage --h5 "$OUT/labels.h5" --bam "$BAM" --second-read-is-sense-strand \
    --output "$OUT/labels.coverage.h5" --threads "$T"

step "2/6 split: 20 % held out; of the rest, a quarter validates (chooses the checkpoint), the others train"
# One sequence, so it is split by region: blocks of 10 subsequences (213,840 bp, both strands together).
# A genome of many sequences is split by whole sequences (the default). The held-out part is never trained
# on nor used to choose a checkpoint: every score at the end is measured there.
.venv/bin/helixer-split --h5 "$OUT/labels.coverage.h5" --training "$OUT/tune.h5" --validation "$OUT/heldout.h5" \
    --by-region --block-size 213840 --val-fraction 0.2 --seed 1 --report "$OUT/split.tsv"
.venv/bin/helixer-split --h5 "$OUT/tune.h5" --output-dir "$OUT" --by-region --block-size 213840 \
    --val-fraction 0.25 --seed 1 --report "$OUT/split_tune.tsv"
column -t "$OUT/split.tsv"

annotate() {  # MODEL NAME: predict the window, make gene models (the route 3 model reads the coverage)
    .venv/bin/helixer-predict --model "$1" --h5 "$OUT/labels.coverage.h5" --overlap --threads "$T" \
        --output "$OUT/$2.predictions.h5"
    .venv/bin/helixer-post --h5 "$OUT/genome.h5" --predictions "$OUT/$2.predictions.h5" --output "$OUT/$2.gff3" \
        --stats "$OUT/$2.post_stats.tsv" --threads "$T"
}

step "3/6 the pretrained model annotates the window"
annotate "$PRETRAINED" pretrained

step "4/6 fine-tune: route 1 (whole network), route 2 (new head), route 3 (new head + RNA-seq coverage)"
# Each run validates the pretrained model first (check 0) and keeps a check only when it beats it (mean of
# genic and coding phase F1), so a step size too large for the data returns the pretrained model instead of
# a worse one. The new layers of routes 2 and 3 start exactly as the pretrained output layer (a hidden layer
# of --hidden-units auto can hold it) and are a nearly linear model on fixed features: they take larger
# steps than route 1, which changes every pretrained weight (docs/benchmarks.md, "Fine-tuning for a
# species the model has not seen": these rates, measured there and here).
TRAIN_OPTS=(--data-dir "$OUT" --epochs 10 --patience 3 --batch-size 4
            --class-weights 0.7,1.6,1.2,1.2 --transition-weights 1,12,3,1,12,3 --threads "$T")
.venv/bin/helixer-train whole --pretrained "$PRETRAINED" --learning-rate 3e-4 "${TRAIN_OPTS[@]}" \
    --output "$OUT/route1.model.h5" --metrics "$OUT/route1.metrics.tsv" --plot "$OUT/route1.training.png"
.venv/bin/helixer-train head --pretrained "$PRETRAINED" --hidden-units auto --learning-rate 1e-2 "${TRAIN_OPTS[@]}" \
    --output "$OUT/route2.model.h5" --metrics "$OUT/route2.metrics.tsv" --plot "$OUT/route2.training.png"
.venv/bin/helixer-train coverage --pretrained "$PRETRAINED" --hidden-units auto --learning-rate 1e-2 "${TRAIN_OPTS[@]}" \
    --output "$OUT/route3.model.h5" --metrics "$OUT/route3.metrics.tsv" --plot "$OUT/route3.training.png"

step "5/6 the tuned models annotate the window"
for route in route1 route2 route3; do
    annotate "$OUT/$route.model.h5" "$route"
done

step "6/6 compare with the reference on the held-out sequence"
.venv/bin/helixer-evaluate --names pretrained route1 route2 route3 \
    --labels "$OUT/heldout.h5" \
    --predictions "$OUT"/{pretrained,route1,route2,route3}.predictions.h5 \
    --reference "$GFF3" --gff3 "$OUT"/{pretrained,route1,route2,route3}.gff3 --regions "$OUT/heldout.h5" \
    --output "$OUT/evaluation.tsv" --json "$OUT/evaluation.json" --plot "$OUT/evaluation.png" \
    --html "$OUT/report.html"
.venv/bin/helixer-export-model --model "$OUT/route3.model.h5" --output "$OUT/route3.upstream.h5" \
    --commands "$OUT/route3.upstream_commands.txt" > /dev/null

printf '\nheld-out sequence (%s), pretrained vs tuned:\n' "$(awk -F'\t' '$1=="validation" && $2!="(all)" {print $2":"$3"-"$4}' "$OUT/split.tsv" | paste -sd,)"
awk -F'\t' 'NR == 1 || $1 ~ /^(genic_f1|phase_f1|coding_phase_f1|f1_UTR|coding_gene_f1|coding_transcript_f1|cds_exon_f1|intron_f1|gene_f1|exon_f1|predicted_genes|reference_genes)$/ {
    printf "%-16s", $1; for (i = 2; i <= 5; i++) printf (NR == 1 ? "%11s" : "%11.4f"), $i; print "" }' "$OUT/evaluation.tsv"
for name in pretrained route1 route2 route3; do
    printf '%-11s %s (%d genes)\n' "$name" "$OUT/$name.gff3" "$(grep -c $'\tgene\t' "$OUT/$name.gff3")"
done
echo "report: $OUT/report.html"
