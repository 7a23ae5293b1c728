/*
 * The pipeline's inputs, from samplesheet rows (nf-schema's samplesheetToList) or the one-genome parameters
 * to what the routes take, with every check that can be made before anything runs. Plain Groovy (no
 * Nextflow objects), so tests/test_nextflow.py runs it with Groovy 4; main.nf turns its
 * IllegalArgumentExceptions into Nextflow errors.
 */
class HelixerInputs {

    /** Genome rows [ meta(species, role), fasta, gff3 or [] ] -> [ meta(id, species, role), fasta, gff3 or [] ]. */
    static List genomes(List rows) {
        if (!rows) {
            throw new IllegalArgumentException("no genomes: give --input (a samplesheet) or --genome and --species")
        }
        def out = rows.collect { row ->
            def (meta, fasta, gff3) = row
            [ meta + [ id: meta.species, role: meta.role ?: 'training' ], fasta, gff3 ?: [] ]
        }
        def repeated = out.countBy { it[0].id }.findAll { id, n -> n > 1 }.keySet()
        if (repeated) {
            throw new IllegalArgumentException("species ${repeated.join(', ')} given more than once: one genome per species")
        }
        out
    }

    /**
     * RNA-seq per genome, [ species, strandedness, bams, bais ], in the genomes' order; [ species, null, [], [] ]
     * for a genome without BAMs. strandedness: one kind, or, for a genome with libraries of several kinds, a
     * list with each BAM's (HELIXER_ADDCOVERAGE adds each run of one kind in its own step, appended). bamRows: [ meta(species, strandedness), bam ]; indexOf: bam -> its index or null.
     */
    static List coverage(List genomes, List bamRows, Closure indexOf) {
        def species = genomes.collect { it[0].species }
        def unknown = bamRows.collect { it[0].species }.unique() - species
        if (unknown) {
            throw new IllegalArgumentException("--bams: species ${unknown.join(', ')} not among the genomes (${species.join(', ')})")
        }
        species.collect { sp ->
            def rows = bamRows.findAll { it[0].species == sp }
            // one kind for all the genome's BAMs, or one per BAM: each run of one kind is added in its own step
            // and appended (the guide runs add_ngs_coverage once per strandedness)
            def kinds = rows.collect { it[0].strandedness ?: 'reverse' }
            def strands = kinds.unique(false).size() > 1 ? [ kinds ] : kinds.unique(false)
            def bams = rows.collect { it[1] }
            def bais = bams.collect { bam ->
                def index = indexOf(bam)
                if (!index) {
                    throw new IllegalArgumentException("${bam}: no index (.bai or .csi) beside it: samtools index ${bam}")
                }
                index
            }
            [ sp, strands ? strands[0] : null, bams, bais ]
        }
    }

    /** Species whose coverage entry has no BAMs. */
    static List withoutBams(List coverage) {
        coverage.findAll { !it[2] }.collect { it[0] }
    }

    /** No coverage for any genome: [ species, null, [], [] ] each. */
    static List noCoverage(List genomes) {
        genomes.collect { [ it[0].species, null, [], [] ] }
    }

    /**
     * The finetune route's genome sets: training, validation and targets (the test genomes, or the training
     * genomes when there are none), checked against --labels.
     */
    static Map finetuneSets(List genomes, String labels) {
        def training = genomes.findAll { it[0].role == 'training' }
        def validation = genomes.findAll { it[0].role == 'validation' }
        def targets = genomes.findAll { it[0].role == 'test' } ?: training
        if (!training) {
            throw new IllegalArgumentException("no genome with role training: fine-tuning needs at least one")
        }
        if (labels == 'reference') {
            def unannotated = (training + validation).findAll { !it[2] }.collect { it[0].species }
            if (unannotated) {
                throw new IllegalArgumentException("--labels reference: no gene models (gff3) for ${unannotated.join(', ')}")
            }
        } else {
            // pseudolabels are validated on the validation genomes' reference gene models (a small curated set)
            // when there are any, else on a split of the pseudolabels themselves
            def unannotated = validation.findAll { !it[2] }.collect { it[0].species }
            if (unannotated) {
                throw new IllegalArgumentException("--labels pseudo: validation genomes need reference gene models " +
                    "(gff3), a small curated set to judge the pseudolabels by; none for ${unannotated.join(', ')}")
            }
        }
        [ training: training, validation: validation, targets: targets ]
    }
}
