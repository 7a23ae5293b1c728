/*
 * ANNOTATE: genomes + a model (+ RNA-seq for a coverage model) -> one helixer-post GFF3 per genome.
 *
 * Each genome is scattered into tasks of whole sequences of about chunk_bases bases (SCATTER_FASTA);
 * each task is converted, given coverage when its genome has BAMs, predicted (GPU label) and decoded;
 * the tasks' GFF3s are gathered in genome order into one sorted GFF3 with unique ids (GATHER_GFF3), the
 * file a single task would have written.
 */
include { SCATTER_FASTA       } from '../../../modules/local/scatter_fasta/main'
include { GATHER_GFF3         } from '../../../modules/local/gather_gff3/main'
include { HELIXER_FASTA2H5    } from '../../../modules/helixer/fasta2h5/main'
include { COVERAGE            } from '../coverage/main'
include { HELIXER_PREDICT     } from '../../../modules/helixer/predict/main'
include { HELIXER_POST        } from '../../../modules/helixer/post/main'

workflow ANNOTATE {
    take:
    ch_genomes   // [ meta(id, species), fasta ]
    model        // path: the model (value)
    ch_coverage  // [ species, strandedness, bams, bais ] per genome; [ species, null, [], [] ] for none
    chunk_bases  // int: bases per task, about

    main:
    SCATTER_FASTA(ch_genomes, chunk_bases)
    // one item per task: its meta names the genome it belongs to and how many tasks that genome has
    ch_chunks = SCATTER_FASTA.out.fasta.flatMap { meta, fastas ->
        def parts = (fastas instanceof List ? fastas : [ fastas ]).sort { it.name }
        parts.collect { fasta -> [ meta + [ id: fasta.baseName, genome: meta.id, chunks: parts.size() ], fasta ] }
    }
    HELIXER_FASTA2H5(ch_chunks)

    // coverage for the tasks of genomes with BAMs (a coverage model), none for the others
    COVERAGE(HELIXER_FASTA2H5.out.h5, ch_coverage)
    ch_inputs = COVERAGE.out.h5

    HELIXER_PREDICT(ch_inputs, model)

    // decode: the task's h5, its predictions and fasta2h5's map of shortened ids, joined on the task id
    HELIXER_POST(ch_inputs.map { meta, h5 -> [ meta.id, meta, h5 ] }
        .join(HELIXER_PREDICT.out.predictions.map { meta, h5 -> [ meta.id, h5 ] })
        .join(HELIXER_FASTA2H5.out.rename_map.map { meta, map -> [ meta.id, map ] })
        .map { id, meta, h5, predictions, map -> [ meta, h5, predictions, map ] })

    // gather each genome's GFF3s once all its tasks are done, in genome order (the parts' numbers)
    GATHER_GFF3(HELIXER_POST.out.gff3
        .map { meta, gff3 -> [ groupKey(meta.genome, meta.chunks), meta, gff3 ] }
        .groupTuple()
        .map { genome, metas, gff3s ->
            def genome_meta = metas[0].findAll { k, v -> !(k in [ 'genome', 'chunks', 'strandedness' ]) } + [ id: genome.toString() ]
            [ genome_meta, gff3s.sort { it.name } ]
        })

    emit:
    gff3        = GATHER_GFF3.out.gff3            // [ meta(genome), gff3 ]
    predictions = HELIXER_PREDICT.out.predictions // [ meta(task), predictions h5 ]
}
