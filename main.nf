#!/usr/bin/env nextflow
/*
 * helixer-tools: the Helixer fine-tuning routes composed from the suite's nf-core style modules.
 *
 *   --route fasta2h5   genome FASTA -> Helixer h5
 *   --route labels     + gene models (GFF3) -> GeenuFF database -> training labels h5 (rows of the genome h5)
 *   --route coverage   labels + RNA-seq coverage from sorted, indexed BAMs (--bams 'dir/*.bam', --strandedness)
 *   --route train      training labels (--genome, --gff3) and validation labels (--val_genome, --val_gff3:
 *                      other sequences, e.g. the genome split by sequence) -> a tuned model, metrics, plot;
 *                      --train_route head (route 2, default) | whole (route 1) | coverage (route 3, needs --bams)
 *                      | scratch; --pretrained model.h5 (an upstream Helixer model or ours) except for scratch;
 *                      the model is also exported for upstream Helixer (HybridModel.py / Helixer.py; coverage
 *                      models with their --pretrained-model-path companion and command lines), unless
 *                      --export_upstream false
 *   --route predict    genome FASTA (+ --bams for a coverage-tuned model) and --model -> base-wise predictions
 *                      (--overlap by default), padding aligned with the genome h5, and their gene models
 *                      (GFF3, helixer-post: HelixerPost's algorithm);
 *                      with --gff3 also the labels and an evaluation of the predictions against them, base-wise and
 *                      gene level (HTML report)
 *   --route pseudolabels  the fine-tuning guide's labels without a reference (routes 2/3): --model predicts the
 *                      genome, helixer-post makes gene models, they become labels (+ coverage with --bams),
 *                      helixer-select keeps the most confident subsequences (--keep_fraction) and helixer-split
 *                      splits them into training_data.h5 and validation_data.h5 (--split_by sequence|region)
 *
 *   nextflow run main.nf -profile test,docker
 *   nextflow run main.nf --route labels --genome genome.fa.gz --gff3 genes.gff3 --species Athaliana
 *   nextflow run main.nf --route train --train_route coverage --pretrained land_plant_v0.3_a_0080.h5 \
 *       --genome train.fa --gff3 train.gff3 --val_genome val.fa --val_gff3 val.gff3 --bams 'bams/*.bam' \
 *       --species Athaliana -profile docker,gpu
 */
nextflow.enable.dsl = 2

include { validateParameters } from 'plugin/nf-schema'

include { HELIXER_FASTA2H5       } from './modules/helixer/fasta2h5/main'
include { HELIXER_IMPORT2GEENUFF } from './modules/helixer/import2geenuff/main'
include { HELIXER_GEENUFF2H5     } from './modules/helixer/geenuff2h5/main'
include { HELIXER_ADDCOVERAGE    } from './modules/helixer/addcoverage/main'
include { HELIXER_TRAIN          } from './modules/helixer/train/main'
include { HELIXER_PREDICT        } from './modules/helixer/predict/main'
include { HELIXER_EVALUATE       } from './modules/helixer/evaluate/main'
include { HELIXER_POST           } from './modules/helixer/post/main'
include { HELIXER_SELECT         } from './modules/helixer/select/main'
include { HELIXER_SPLIT          } from './modules/helixer/split/main'
include { HELIXER_EXPORTMODEL    } from './modules/helixer/exportmodel/main'
include { HELIXER_IMPORT2GEENUFF as HELIXER_IMPORT2GEENUFF_PSEUDO } from './modules/helixer/import2geenuff/main'
include { HELIXER_GEENUFF2H5 as HELIXER_GEENUFF2H5_PSEUDO         } from './modules/helixer/geenuff2h5/main'
include { HELIXER_ADDCOVERAGE as HELIXER_ADDCOVERAGE_PSEUDO       } from './modules/helixer/addcoverage/main'

def ROUTES = ['fasta2h5', 'labels', 'coverage', 'train', 'predict', 'pseudolabels']
def TRAIN_ROUTES = ['head', 'whole', 'coverage', 'scratch']

workflow {
    validateParameters()  // every parameter against nextflow_schema.json: names, types, choices, files that exist
    if (!(params.route in ROUTES)) {
        error "Unknown --route '${params.route}': choose one of ${ROUTES.join(', ')}"
    }
    def training = params.route == 'train'
    if (training && !(params.train_route in TRAIN_ROUTES)) {
        error "Unknown --train_route '${params.train_route}': choose one of ${TRAIN_ROUTES.join(', ')}"
    }
    def pseudo = params.route == 'pseudolabels'
    def predicting = params.route == 'predict' || pseudo
    def with_coverage = params.route == 'coverage' || (training && params.train_route == 'coverage') ||
        (predicting && params.bams)
    def with_labels = params.route in ['labels', 'coverage', 'train'] || (params.route == 'predict' && params.gff3)

    if (!params.genome) {
        error "Missing --genome: a genome FASTA (plain or gzip)"
    }
    if (with_labels && !params.gff3) {
        error "Missing --gff3: gene models (GFF3) for --route ${params.route}"
    }
    if (training && (!params.val_genome || !params.val_gff3)) {
        error "Missing --val_genome/--val_gff3: validation sequences and their gene models (other sequences than --genome's) for --route train"
    }
    if (training && params.train_route != 'scratch' && !params.pretrained) {
        error "Missing --pretrained: the model to fine-tune (an upstream Helixer .h5 or a helixer-train model) for --train_route ${params.train_route}"
    }
    if (predicting && !params.model) {
        error "Missing --model: the model to predict with (an upstream Helixer .h5 or a helixer-train model)"
    }
    if (with_coverage && !params.bams) {
        error "Missing --bams: sorted, indexed RNA-seq BAMs (a glob such as 'bams/*.bam') for coverage"
    }
    if (!params.species) {
        error "Missing --species: the species name stored in the h5 files (at most 25 characters)"
    }

    // one genome (or, to train, the training and the validation sequences), each with its gene models
    def sets = [ [ params.species, 'training', params.genome, params.gff3 ] ]
    if (training) {
        sets = [ [ "${params.species}_training", 'training', params.genome, params.gff3 ],
                 [ "${params.species}_validation", 'validation', params.val_genome, params.val_gff3 ] ]
    }
    ch_genome = channel.fromList(sets.collect { id, set, genome, gff3 ->
        [ [ id: id, species: params.species, set: set, gff3: gff3 ], file(genome, checkIfExists: true) ]
    })

    HELIXER_FASTA2H5(ch_genome)

    ch_labels = channel.empty()
    if (with_labels) {
        ch_annotation = ch_genome.map { meta, fasta -> [ meta, file(meta.gff3, checkIfExists: true), fasta ] }
        HELIXER_IMPORT2GEENUFF(ch_annotation)
        // rows of the labels file are the genome h5's rows (joined on seqid, start, end by the tool)
        HELIXER_GEENUFF2H5(HELIXER_IMPORT2GEENUFF.out.db.join(HELIXER_FASTA2H5.out.h5))
        ch_labels = HELIXER_GEENUFF2H5.out.h5
    }
    if (with_coverage) {
        bams = file(params.bams, checkIfExists: true).sort { it.name }
        bais = bams.collect { bam -> file("${bam}.bai", checkIfExists: true) }
        ch_for_coverage = (with_labels && !predicting) ? HELIXER_GEENUFF2H5.out.h5 : HELIXER_FASTA2H5.out.h5
        ch_coverage = ch_for_coverage.map { meta, h5 ->
            [ meta + [ strandedness: params.strandedness ], h5, bams, bais ]
        }
        HELIXER_ADDCOVERAGE(ch_coverage)
        ch_labels = HELIXER_ADDCOVERAGE.out.h5
    }
    if (predicting) {
        ch_genome_h5 = with_coverage ? HELIXER_ADDCOVERAGE.out.h5 : HELIXER_FASTA2H5.out.h5
        HELIXER_PREDICT(ch_genome_h5, file(params.model, checkIfExists: true))
        // gene models: the genome h5 and its predictions, joined on the genome's id
        ch_genome_by_id = ch_genome_h5.map { meta, h5 -> [ meta.id, meta, h5 ] }
        // fasta2h5's map of shortened sequence ids gives the GFF3 the FASTA's full ids
        HELIXER_POST(ch_genome_by_id.join(HELIXER_PREDICT.out.predictions.map { meta, h5 -> [ meta.id, h5 ] })
            .join(HELIXER_FASTA2H5.out.rename_map.map { meta, map -> [ meta.id, map ] })
            .map { id, meta, h5, predictions, map -> [ meta, h5, predictions, map ] })
        if (pseudo) {
            // the model's own gene models become labels of the genome's rows (and get the same coverage)
            ch_fasta_by_id = ch_genome.map { meta, fasta -> [ meta.id, fasta ] }
            HELIXER_IMPORT2GEENUFF_PSEUDO(HELIXER_POST.out.gff3.map { meta, gff3 -> [ meta.id, meta, gff3 ] }
                .join(ch_fasta_by_id).map { id, meta, gff3, fasta -> [ meta, gff3, fasta ] })
            HELIXER_GEENUFF2H5_PSEUDO(HELIXER_IMPORT2GEENUFF_PSEUDO.out.db.map { meta, db -> [ meta.id, meta, db ] }
                .join(HELIXER_FASTA2H5.out.h5.map { meta, h5 -> [ meta.id, h5 ] })
                .map { id, meta, db, h5 -> [ meta, db, h5 ] })
            ch_pseudo = HELIXER_GEENUFF2H5_PSEUDO.out.h5
            if (with_coverage) {
                HELIXER_ADDCOVERAGE_PSEUDO(ch_pseudo.map { meta, h5 ->
                    [ meta + [ strandedness: params.strandedness ], h5, bams, bais ]
                })
                ch_pseudo = HELIXER_ADDCOVERAGE_PSEUDO.out.h5
            }
            HELIXER_SELECT(ch_pseudo.map { meta, h5 -> [ meta.id, meta, h5 ] }
                .join(HELIXER_PREDICT.out.predictions.map { meta, h5 -> [ meta.id, h5 ] })
                .map { id, meta, labels, predictions -> [ meta, labels, predictions ] })
            HELIXER_SPLIT(HELIXER_SELECT.out.h5)
        }
        if (with_labels) {
            // channels joined on the genome's id (meta may differ: coverage adds strandedness);
            // rows are joined on (seqid, start, end) by the tool
            ch_labels_by_id = HELIXER_GEENUFF2H5.out.h5.map { meta, h5 -> [ meta.id, meta, h5 ] }
            ch_predictions_by_id = HELIXER_PREDICT.out.predictions.map { meta, h5 -> [ meta.id, h5 ] }
            // base-wise (labels, predictions) and gene level (the reference GFF3, helixer-post's gene models)
            ch_gene_models_by_id = HELIXER_POST.out.gff3.map { meta, gff3 -> [ meta.id, gff3 ] }
            HELIXER_EVALUATE(ch_labels_by_id.join(ch_predictions_by_id).join(ch_gene_models_by_id)
                .map { id, meta, labels, predictions, gene_models ->
                    [ meta, labels, predictions, file(meta.gff3, checkIfExists: true), gene_models ]
                })
        }
    }
    if (training) {
        ch_train = ch_labels.filter { meta, h5 -> meta.set == 'training' }.map { meta, h5 -> h5 }
        ch_val = ch_labels.filter { meta, h5 -> meta.set == 'validation' }.map { meta, h5 -> h5 }
        ch_sets = ch_train.combine(ch_val).map { train_h5, val_h5 ->
            [ [ id: params.species, route: params.train_route ], train_h5, val_h5 ]
        }
        HELIXER_TRAIN(ch_sets, params.pretrained ? file(params.pretrained, checkIfExists: true) : [])
        if (params.export_upstream) {
            HELIXER_EXPORTMODEL(HELIXER_TRAIN.out.model)
        }
    }

    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':')[-1]}:\n  ${tool}: ${version}" }
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", newLine: true)
}
