#!/usr/bin/env nextflow
/*
 * helixer-tools: annotate genomes with a Helixer model, or fine-tune a pretrained model for a species and
 * annotate with it, composed from the suite's nf-core style modules.
 *
 *   --route annotate   genomes + --model (+ --bams for a coverage model) -> one GFF3 per genome (helixer-post),
 *                      predicted in parallel tasks of about --chunk_bases bases (GPU label on predict) and
 *                      gathered; where a genome has gene models, a gene-level evaluation against them
 *   --route finetune   genomes + --pretrained -> a tuned model (--method whole | head | coverage, i.e. the
 *                      fine-tuning guide's routes 1, 2, 3), trained on --labels reference (the genomes' GFF3s)
 *                      or pseudo (the pretrained model's most confident gene models); the tuned model then
 *                      annotates the test genomes (or the training genomes), and where they have gene models
 *                      the pretrained and the tuned model are evaluated side by side (HTML report)
 *
 * Genomes: --input samplesheet.csv (species,fasta,gff3,role; assets/schema_input.json), or one genome with
 * --genome, --gff3 and --species. RNA-seq: --bams samplesheet.csv (species,bam,strandedness;
 * assets/schema_bams.json), sorted and indexed BAMs.
 *
 *   nextflow run main.nf -profile test,docker
 *   nextflow run main.nf --route annotate --genome genome.fa.gz --species Athaliana --model land_plant.h5
 *   nextflow run main.nf --route annotate --genome genome.fa.gz --species Athaliana --lineage land_plant
 *   nextflow run main.nf --route finetune --method coverage --labels pseudo --input genomes.csv \
 *       --bams bams.csv --pretrained land_plant_v0.3_a_0080.h5 -profile docker,gpu
 */
nextflow.enable.dsl = 2

include { validateParameters; samplesheetToList } from 'plugin/nf-schema'

include { ANNOTATE         } from './subworkflows/local/annotate/main'
include { FINETUNE         } from './subworkflows/local/finetune/main'
include { HELIXER_EVALUATE } from './modules/helixer/evaluate/main'
include { HELIXER_FETCHMODEL } from './modules/helixer/fetchmodel/main'

workflow {
    validateParameters()  // every parameter against nextflow_schema.json: names, types, choices, files that exist

    def genomes, coverage
    try {
        // the genomes: [ meta(id, species, role), fasta, gff3 or [] ]
        if (params.input && (params.genome || params.gff3 || params.species)) {
            throw new IllegalArgumentException("give the genomes either as --input (a samplesheet) or as " +
                "--genome/--gff3/--species, not both")
        }
        if (!params.input && (!params.genome || !params.species)) {
            throw new IllegalArgumentException("missing --input, or --genome and --species: the genome(s) to work on")
        }
        genomes = HelixerInputs.genomes(params.input
            ? samplesheetToList(params.input, "${projectDir}/assets/schema_input.json")
            : [ [ [ species: params.species, role: 'training' ], file(params.genome, checkIfExists: true),
                  params.gff3 ? file(params.gff3, checkIfExists: true) : [] ] ])
        // RNA-seq per genome: [ species, strandedness, bams, bais ]
        def bam_rows = params.bams ? samplesheetToList(params.bams, "${projectDir}/assets/schema_bams.json") : []
        coverage = HelixerInputs.coverage(genomes, bam_rows, { bam ->
            [ file("${bam}.bai"), file("${bam}.csi"), file("${bam.parent}/${bam.baseName}.bai") ].find { it.exists() }
        })
    } catch (IllegalArgumentException e) {
        error e.message
    }
    def no_coverage = HelixerInputs.noCoverage(genomes)
    def missing_bams = HelixerInputs.withoutBams(coverage)

    // the model: a file (--model, --pretrained), or a lineage's released default model, fetched and verified
    def given = params.route == 'annotate' ? params.model : params.pretrained
    def option = params.route == 'annotate' ? '--model' : '--pretrained'
    def scratch = params.route == 'finetune' && params.method == 'scratch'
    if (given && params.lineage) {
        error "give ${option} or --lineage (a released model), not both"
    }
    if (scratch && (given || params.lineage)) {
        error "--method scratch trains a new network from random weights: drop ${given ? option : '--lineage'}"
    }
    if (scratch && params.labels == 'pseudo') {
        error "--method scratch: pseudolabels need a model to make them; use --labels reference"
    }
    if (!given && !params.lineage && !scratch) {
        error "Missing ${option} or --lineage: the model to ${params.route == 'annotate' ? 'annotate with' : 'fine-tune'} " +
            "(an upstream Helixer .h5 or a helixer-train model, or a lineage's released model, e.g. --lineage land_plant)"
    }
    def model = []
    if (scratch) {
        log.info "--method scratch: a new network, trained from random weights (helixer-train scratch)"
    } else if (params.lineage) {
        HELIXER_FETCHMODEL([ id: params.lineage, lineage: params.lineage ],
            params.model_list ? file(params.model_list, checkIfExists: true) : [])
        model = HELIXER_FETCHMODEL.out.model.map { meta, h5 -> h5 }.first()
    } else {
        model = file(given, checkIfExists: true)
    }

    if (params.route == 'annotate') {
        if (params.bams && missing_bams) {
            error "--bams: no BAMs for ${missing_bams.join(', ')}; a coverage model needs RNA-seq of every genome"
        }
        def ch_genomes = channel.fromList(genomes)
        ANNOTATE(ch_genomes.map { meta, fasta, gff3 -> [ meta, fasta ] }, model,
            channel.fromList(params.bams ? coverage : no_coverage), params.chunk_bases)
        // gene level against the genome's own gene models, where it has them
        HELIXER_EVALUATE(ch_genomes.filter { meta, fasta, gff3 -> gff3 }.map { meta, fasta, gff3 -> [ meta.id, meta, gff3 ] }
            .join(ANNOTATE.out.gff3.map { meta, gff3 -> [ meta.id, gff3 ] })
            .map { id, meta, reference, predicted -> [ meta + [ names: [ 'predicted' ] ], [], [], reference, predicted, [] ] })
    } else {
        def sets
        try {
            sets = HelixerInputs.finetuneSets(genomes, params.labels)
        } catch (IllegalArgumentException e) {
            error e.message
        }
        // coverage: route 3, and resuming a route 3 model (the pretrained is then that checkpoint)
        def coverage_method = params.method == 'coverage' || (params.method == 'resume' && params.bams)
        if (coverage_method && missing_bams) {
            error "--method ${params.method}: no BAMs (--bams) for ${missing_bams.join(', ')}"
        }
        if (!coverage_method && params.bams) {
            log.warn "--bams is only read by --method coverage (and resume); --method ${params.method} ignores it"
        }
        FINETUNE(channel.fromList(sets.training), channel.fromList(sets.validation), channel.fromList(sets.targets),
            channel.fromList(coverage_method ? coverage : no_coverage), channel.fromList(no_coverage),
            model, params.method, params.labels, sets.validation as boolean,
            params.chunk_bases, params.export_upstream)
    }

    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':')[-1]}:\n  ${tool}: ${version}" }
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", newLine: true)
}
