/*
 * FINETUNE: the fine-tuning guide's routes, from genomes to a tuned model, its annotation and the evidence.
 *
 *   method  whole (route 1: retrain the whole network) | head (route 2: frozen network, new final layer)
 *           | coverage (route 3: as head, RNA-seq coverage fed into the new layers; needs BAMs)
 *           | resume (go on training a model this pipeline tuned: the "pretrained" is that checkpoint; with
 *           BAMs for a route 3 model) | scratch (a new network from random weights; no pretrained model,
 *           reference labels; the evaluation then scores the new model alone)
 *   labels  reference: the samplesheet's gene models (GFF3)
 *           pseudo: the guide's chain without a reference: the pretrained model annotates the training
 *           genomes, its gene models become labels (+ coverage), helixer-select keeps the most confident
 *           subsequences; they are validated on the validation genomes' reference gene models (a small
 *           curated set) where the samplesheet names any, else split into training and validation sets
 *           (helixer-train then warns that it validates on pseudolabels)
 *
 * Training genomes (role training) are split into training and validation sets by helixer-split unless the
 * samplesheet names validation genomes (role validation, with reference gene models). The tuned model then
 * annotates the test genomes (role test), or the training genomes when there are none; where those have
 * gene models, the pretrained and the tuned model's GFF3s are evaluated against them side by side, on a
 * split genome only on its held-out part. (Base-wise, pretrained against tuned on the validation data is
 * HELIXER_TRAIN's metrics table: check 0 is the pretrained model.)
 */
include { ANNOTATE as ANNOTATE_PRETRAINED } from '../annotate/main'
include { ANNOTATE as ANNOTATE_TUNED      } from '../annotate/main'
include { LABELS                          } from '../labels/main'
include { HELIXER_SELECT                  } from '../../../modules/helixer/select/main'
include { HELIXER_SPLIT                   } from '../../../modules/helixer/split/main'
include { HELIXER_TRAIN                   } from '../../../modules/helixer/train/main'
include { HELIXER_EXPORTMODEL             } from '../../../modules/helixer/exportmodel/main'
include { HELIXER_EVALUATE                } from '../../../modules/helixer/evaluate/main'

workflow FINETUNE {
    take:
    ch_training      // [ meta(id, species, role), fasta, gff3 or [] ]: the genomes to learn from
    ch_validation    // [ meta, fasta, gff3 ]: validation genomes (reference labels), or none
    ch_targets       // [ meta, fasta, gff3 or [] ]: the genomes the tuned model annotates
    ch_coverage      // [ species, strandedness, bams, bais ] per genome (BAMs for method coverage, else none)
    ch_no_coverage   // [ species, null, [], [] ] per genome
    pretrained       // path: the model to fine-tune ([] for scratch)
    method           // whole | head | coverage | resume | scratch
    labels           // reference | pseudo
    has_validation   // boolean: ch_validation has genomes
    chunk_bases      // int: bases per annotate task, about
    export_upstream  // boolean: also write the tuned model as upstream Helixer loads it

    main:
    if (labels == 'pseudo') {
        // the pretrained model annotates the training genomes (and the targets, for the evaluation), in one
        // task per genome: helixer-select ranks all of a genome's subsequences against the same predictions
        ANNOTATE_PRETRAINED(ch_training.mix(ch_targets).unique { it[0].id }.map { meta, fasta, gff3 -> [ meta, fasta ] },
            pretrained, ch_no_coverage, Long.MAX_VALUE)
        ch_pretrained_gff3 = ANNOTATE_PRETRAINED.out.gff3
        // its gene models become labels of the genome's rows (+ the genome's coverage for route 3); the
        // validation genomes' own gene models become theirs
        LABELS(ch_training.map { meta, fasta, gff3 -> [ meta.id, meta, fasta ] }
                .join(ch_pretrained_gff3.map { meta, gff3 -> [ meta.id, gff3 ] })
                .map { id, meta, fasta, gff3 -> [ meta, fasta, gff3 ] }
                .mix(ch_validation),
            ch_coverage)
        ch_pseudo = LABELS.out.labels.branch { meta, h5 ->
            validation: meta.role == 'validation'
            training: true
        }
        HELIXER_SELECT(ch_pseudo.training.map { meta, h5 -> [ meta.id, meta, h5 ] }
            .join(ANNOTATE_PRETRAINED.out.predictions.map { meta, h5 -> [ meta.genome, h5 ] })
            .map { id, meta, h5, predictions -> [ meta, h5, predictions ] })
        if (has_validation) {  // judged by reference gene models: every confident subsequence trains
            ch_train_h5 = HELIXER_SELECT.out.h5.map { meta, h5 -> h5 }
            ch_val_h5 = ch_pseudo.validation.map { meta, h5 -> h5 }
            ch_held_out = channel.empty()
        } else {
            HELIXER_SPLIT(HELIXER_SELECT.out.h5)
            ch_train_h5 = HELIXER_SPLIT.out.training.map { meta, h5 -> h5 }
            ch_val_h5 = HELIXER_SPLIT.out.validation.map { meta, h5 -> h5 }
            ch_held_out = HELIXER_SPLIT.out.validation
        }
    } else {
        if (method == 'scratch') {  // nothing to compare the new network with
            ch_pretrained_gff3 = channel.empty()
        } else {
            ANNOTATE_PRETRAINED(ch_targets.filter { meta, fasta, gff3 -> gff3 }.map { meta, fasta, gff3 -> [ meta, fasta ] },
                pretrained, ch_no_coverage, chunk_bases)
            ch_pretrained_gff3 = ANNOTATE_PRETRAINED.out.gff3
        }
        LABELS(ch_training.mix(ch_validation), ch_coverage)
        ch_labels = LABELS.out.labels.branch { meta, h5 ->
            validation: meta.role == 'validation'
            training: true
        }
        if (has_validation) {
            ch_train_h5 = ch_labels.training.map { meta, h5 -> h5 }
            ch_val_h5 = ch_labels.validation.map { meta, h5 -> h5 }
            ch_held_out = channel.empty()
        } else {
            // no validation genomes: each training genome is split into training and validation sets
            HELIXER_SPLIT(ch_labels.training)
            ch_train_h5 = HELIXER_SPLIT.out.training.map { meta, h5 -> h5 }
            ch_val_h5 = HELIXER_SPLIT.out.validation.map { meta, h5 -> h5 }
            ch_held_out = HELIXER_SPLIT.out.validation
        }
    }

    // one model from all training and all validation sets
    HELIXER_TRAIN(ch_train_h5.collect(sort: true).map { [ it ] }
            .combine(ch_val_h5.collect(sort: true).map { [ it ] })
            .map { training, validation -> [ [ id: "${method}_${labels}", route: method ], training, validation ] },
        pretrained)
    if (export_upstream) {
        HELIXER_EXPORTMODEL(HELIXER_TRAIN.out.model)
    }

    // the tuned model annotates the targets (with their RNA-seq for a coverage model)
    ANNOTATE_TUNED(ch_targets.map { meta, fasta, gff3 -> [ meta, fasta ] },
        HELIXER_TRAIN.out.model.map { meta, model -> model }.first(), ch_coverage, chunk_bases)

    // where a target has gene models: the pretrained and the tuned model side by side, gene level; on a
    // genome that was split, only on its held-out part (the genes inside its validation rows)
    // (scratch: the new model alone)
    def ch_compared = method == 'scratch'
        ? ANNOTATE_TUNED.out.gff3.map { meta, gff3 -> [ meta.id, [ gff3 ] ] }
        : ch_pretrained_gff3.map { meta, gff3 -> [ meta.id, gff3 ] }
            .join(ANNOTATE_TUNED.out.gff3.map { meta, gff3 -> [ meta.id, gff3 ] })
            .map { id, before, after -> [ id, [ before, after ] ] }
    def names = method == 'scratch' ? [ 'scratch' ] : [ 'pretrained', 'tuned' ]
    HELIXER_EVALUATE(ch_targets.filter { meta, fasta, gff3 -> gff3 }.map { meta, fasta, gff3 -> [ meta.id, meta, gff3 ] }
        .join(ch_compared)
        .join(ch_held_out.map { meta, h5 -> [ meta.id, h5 ] }, remainder: true)
        .filter { items -> items[1] instanceof Map }  // not the held-out parts of genomes that are not targets
        .map { id, meta, reference, predicted, regions ->
            [ meta + [ names: names ], [], [], reference, predicted, regions ?: [] ]
        })

    emit:
    model      = HELIXER_TRAIN.out.model    // [ meta, model h5 ]
    gff3       = ANNOTATE_TUNED.out.gff3    // [ meta(genome), gff3 ]
    evaluation = HELIXER_EVALUATE.out.html  // [ meta(genome), report ]
}
