#!/usr/bin/env nextflow
/*
 * helixer-tools: the Helixer fine-tuning routes composed from the suite's nf-core style modules.
 *
 * Implemented so far:
 *   --route fasta2h5   genome FASTA -> Helixer h5
 *   --route labels     + gene models (GFF3) -> GeenuFF database -> training labels h5 (rows of the genome h5)
 *   --route coverage   labels + RNA-seq coverage from sorted, indexed BAMs (--bams 'dir/*.bam', --strandedness)
 * The routes whole/frozen/coverage and inference join here as their tools land.
 *
 *   nextflow run main.nf -profile test,docker
 *   nextflow run main.nf --route labels --genome genome.fa.gz --gff3 genes.gff3 --species Athaliana
 */
nextflow.enable.dsl = 2

include { HELIXER_FASTA2H5       } from './modules/helixer/fasta2h5/main'
include { HELIXER_IMPORT2GEENUFF } from './modules/helixer/import2geenuff/main'
include { HELIXER_GEENUFF2H5     } from './modules/helixer/geenuff2h5/main'
include { HELIXER_ADDCOVERAGE    } from './modules/helixer/addcoverage/main'

def ROUTES = ['fasta2h5', 'labels', 'coverage']

workflow {
    if (!(params.route in ROUTES)) {
        error "Unknown --route '${params.route}': choose one of ${ROUTES.join(', ')}"
    }
    if (!params.genome) {
        error "Missing --genome: a genome FASTA (plain or gzip)"
    }
    if (params.route in ['labels', 'coverage'] && !params.gff3) {
        error "Missing --gff3: gene models (GFF3) for --route ${params.route}"
    }
    if (params.route == 'coverage' && !params.bams) {
        error "Missing --bams: sorted, indexed RNA-seq BAMs (a glob such as 'bams/*.bam') for --route coverage"
    }
    if (!params.species) {
        error "Missing --species: the species name stored in the h5 files (at most 25 characters)"
    }

    ch_genome = channel.of([
        [ id: params.species, species: params.species ],
        file(params.genome, checkIfExists: true)
    ])

    HELIXER_FASTA2H5(ch_genome)

    if (params.route in ['labels', 'coverage']) {
        ch_annotation = ch_genome.map { meta, fasta -> [ meta, file(params.gff3, checkIfExists: true), fasta ] }
        HELIXER_IMPORT2GEENUFF(ch_annotation)
        // rows of the labels file are the genome h5's rows (joined on seqid, start, end by the tool)
        HELIXER_GEENUFF2H5(HELIXER_IMPORT2GEENUFF.out.db.join(HELIXER_FASTA2H5.out.h5))
    }
    if (params.route == 'coverage') {
        bams = file(params.bams, checkIfExists: true).sort { it.name }
        bais = bams.collect { bam -> file("${bam}.bai", checkIfExists: true) }
        ch_coverage = HELIXER_GEENUFF2H5.out.h5.map { meta, h5 ->
            [ meta + [ strandedness: params.strandedness ], h5, bams, bais ]
        }
        HELIXER_ADDCOVERAGE(ch_coverage)
    }

    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':')[-1]}:\n  ${tool}: ${version}" }
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", newLine: true)
}
