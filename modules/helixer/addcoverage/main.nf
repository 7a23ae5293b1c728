process HELIXER_ADDCOVERAGE {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-add-coverage:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-add-coverage:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(h5), path(bams), path(bais)

    output:
    tuple val(meta), path("*.coverage.h5"), emit: h5
    tuple val("${task.process}"), val('helixer-add-coverage'), eval("helixer-add-coverage --version | sed 's/^helixer-add-coverage //'"), topic: versions, emit: versions_helixer_add_coverage

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // nf-core/rnaseq's vocabulary: 'reverse' = dUTP / TruSeq Stranded = the second read is sense
    def strand_flags = [reverse: '--second-read-is-sense-strand', forward: '--first-read-is-sense-strand', unstranded: '--unstranded']
    // meta.strandedness: one kind for all BAMs, or a list, one per BAM: the guide adds the coverage of each
    // strandedness in its own run, appended; here each run of consecutive BAMs of one kind, in BAM order
    def bam_list = (bams instanceof java.nio.file.Path || bams instanceof CharSequence) ? [ bams ] : bams.collect { it }
    def kinds = meta.strandedness instanceof List ? meta.strandedness : [ meta.strandedness ?: 'reverse' ] * bam_list.size()
    if (kinds.size() != bam_list.size()) {
        error "HELIXER_ADDCOVERAGE: meta.strandedness names ${kinds.size()} kinds for ${bam_list.size()} BAMs"
    }
    def unknown = kinds.findAll { !strand_flags[it] }
    if (unknown) {
        error "HELIXER_ADDCOVERAGE: meta.strandedness must be one of ${strand_flags.keySet()}, not '${unknown[0]}'"
    }
    def runs = []
    bam_list.eachWithIndex { bam, i ->
        if (runs && runs[-1].kind == kinds[i]) { runs[-1].bams << bam } else { runs << [ kind: kinds[i], bams: [ bam ] ] }
    }
    def part = { int i -> i == runs.size() ? "${prefix}.coverage.h5" : "${prefix}.part${i}.h5" }
    def bams_first = runs[0].bams.join(' ')
    def strand_flag = strand_flags[runs[0].kind]
    def output_first = part(1)
    // the other runs, each appending its columns to the file before it
    def appended = runs.size() == 1 ? '' : (1..<runs.size()).collect { i ->
        " && helixer-add-coverage --h5 ${part(i)} --bam ${runs[i].bams.join(' ')} ${strand_flags[runs[i].kind]} " +
            "--output ${part(i + 1)} --threads ${task.cpus} ${args}"
    }.join('') + " && rm -f ${prefix}.part*.h5"
    """
    helixer-add-coverage \\
        --h5 ${h5} \\
        --bam ${bams_first} \\
        ${strand_flag} \\
        --output ${output_first} \\
        --threads ${task.cpus} \\
        ${args}${appended}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.coverage.h5
    """
}
