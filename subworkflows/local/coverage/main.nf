/*
 * COVERAGE: RNA-seq coverage into the h5s of genomes that have BAMs (helixer-add-coverage, one column per
 * BAM in the samplesheet's order); the h5s of the others pass unchanged.
 */
include { HELIXER_ADDCOVERAGE } from '../../../modules/helixer/addcoverage/main'

workflow COVERAGE {
    take:
    ch_h5        // [ meta(id, species), h5 ]
    ch_coverage  // [ species, strandedness, bams, bais ] per genome; [ species, null, [], [] ] for none

    main:
    ch_split = ch_h5
        .map { meta, h5 -> [ meta.species, meta, h5 ] }
        .combine(ch_coverage, by: 0)
        .branch { species, meta, h5, strandedness, bams, bais ->
            with_coverage: bams
                return [ meta + [ strandedness: strandedness ], h5, bams, bais ]
            without: true
                return [ meta, h5 ]
        }
    HELIXER_ADDCOVERAGE(ch_split.with_coverage)

    emit:
    h5 = ch_split.without.mix(HELIXER_ADDCOVERAGE.out.h5)  // [ meta, h5 ] (with coverage where the genome has BAMs)
}
