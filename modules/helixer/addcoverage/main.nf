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
    def strand_flag = strand_flags[meta.strandedness ?: 'reverse']
    if (!strand_flag) {
        error "HELIXER_ADDCOVERAGE: meta.strandedness must be one of ${strand_flags.keySet()}, not '${meta.strandedness}'"
    }
    """
    helixer-add-coverage \\
        --h5 ${h5} \\
        --bam ${bams} \\
        ${strand_flag} \\
        --output ${prefix}.coverage.h5 \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.coverage.h5
    """
}
