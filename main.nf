#!/usr/bin/env nextflow
/*
 * helixer-tools: the Helixer fine-tuning routes composed from the suite's nf-core style modules.
 *
 * Implemented so far: --route fasta2h5 (genome FASTA -> Helixer h5). The routes whole/frozen/coverage
 * and inference join here as their tools land.
 *
 *   nextflow run main.nf -profile test,docker
 *   nextflow run main.nf --genome genome.fa.gz --species Athaliana --outdir results
 */
nextflow.enable.dsl = 2

include { HELIXER_FASTA2H5 } from './modules/helixer/fasta2h5/main'

def ROUTES = ['fasta2h5']

workflow {
    if (!(params.route in ROUTES)) {
        error "Unknown --route '${params.route}': choose one of ${ROUTES.join(', ')}"
    }
    if (!params.genome) {
        error "Missing --genome: a genome FASTA (plain or gzip)"
    }
    if (!params.species) {
        error "Missing --species: the species name stored in the h5 files (at most 25 characters)"
    }

    ch_genome = channel.of([
        [ id: params.species, species: params.species ],
        file(params.genome, checkIfExists: true)
    ])

    HELIXER_FASTA2H5(ch_genome)

    channel.topic('versions')
        .map { process, tool, version -> "${process.tokenize(':')[-1]}:\n  ${tool}: ${version}" }
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", newLine: true)
}
