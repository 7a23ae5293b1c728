process HELIXER_SPLIT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-split:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-split:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(h5)

    output:
    tuple val(meta), path("${meta.id}_split/training_data.h5")  , emit: training
    tuple val(meta), path("${meta.id}_split/validation_data.h5"), emit: validation
    tuple val(meta), path("*.split.tsv")                         , emit: report
    tuple val("${task.process}"), val('helixer-split'), eval("helixer-split --version | sed 's/^helixer-split //'"), topic: versions, emit: versions_helixer_split

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    helixer-split \\
        --h5 ${h5} \\
        --output-dir ${meta.id}_split \\
        --report ${prefix}.split.tsv \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    mkdir -p ${meta.id}_split
    touch ${meta.id}_split/training_data.h5
    touch ${meta.id}_split/validation_data.h5
    touch ${prefix}.split.tsv
    """
}
