/*
 * LABELS: genomes + gene models (a reference, or a model's own as pseudolabels) -> training labels h5
 * (+ RNA-seq coverage where the genome has BAMs), rows as helixer-fasta2h5 cuts the genome.
 */
include { HELIXER_FASTA2H5       } from '../../../modules/helixer/fasta2h5/main'
include { HELIXER_IMPORT2GEENUFF } from '../../../modules/helixer/import2geenuff/main'
include { HELIXER_GEENUFF2H5     } from '../../../modules/helixer/geenuff2h5/main'
include { COVERAGE               } from '../coverage/main'

workflow LABELS {
    take:
    ch_annotated  // [ meta(id, species), fasta, gff3 ]
    ch_coverage   // [ species, strandedness, bams, bais ] per genome; [ species, null, [], [] ] for none

    main:
    HELIXER_FASTA2H5(ch_annotated.map { meta, fasta, gff3 -> [ meta, fasta ] })
    HELIXER_IMPORT2GEENUFF(ch_annotated.map { meta, fasta, gff3 -> [ meta, gff3, fasta ] })
    // the labels' rows are the genome h5's rows (joined on seqid, start, end by the tool)
    HELIXER_GEENUFF2H5(HELIXER_IMPORT2GEENUFF.out.db.map { meta, db -> [ meta.id, meta, db ] }
        .join(HELIXER_FASTA2H5.out.h5.map { meta, h5 -> [ meta.id, h5 ] })
        .map { id, meta, db, h5 -> [ meta, db, h5 ] })

    COVERAGE(HELIXER_GEENUFF2H5.out.h5, ch_coverage)

    emit:
    labels = COVERAGE.out.h5  // [ meta, labels h5 ]
}
