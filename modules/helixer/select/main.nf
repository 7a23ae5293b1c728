process HELIXER_SELECT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-select:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-select:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(labels), path(predictions_h5)

    output:
    tuple val(meta), path("*.selected.h5")  , emit: h5
    tuple val(meta), path("*.selection.tsv"), emit: table
    tuple val(meta), path("*.selection.png"), emit: plot
    tuple val("${task.process}"), val('helixer-select'), eval("helixer-select --version | sed 's/^helixer-select //'"), topic: versions, emit: versions_helixer_select

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    helixer-select \\
        --labels ${labels} \\
        --predictions ${predictions_h5} \\
        --output ${prefix}.selected.h5 \\
        --table ${prefix}.selection.tsv \\
        --plot ${prefix}.selection.png \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.selected.h5
    touch ${prefix}.selection.tsv
    touch ${prefix}.selection.png
    """
}
