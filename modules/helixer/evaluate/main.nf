process HELIXER_EVALUATE {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-evaluate:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-evaluate:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(labels), path(predictions)

    output:
    tuple val(meta), path("*.evaluation.tsv") , emit: table
    tuple val(meta), path("*.evaluation.json"), emit: json
    tuple val(meta), path("*.evaluation.png") , emit: plot
    tuple val("${task.process}"), val('helixer-evaluate'), eval("helixer-evaluate --version | sed 's/^helixer-evaluate //'"), topic: versions, emit: versions_helixer_evaluate

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    helixer-evaluate \\
        --labels ${labels} \\
        --predictions ${predictions} \\
        --output ${prefix}.evaluation.tsv \\
        --json ${prefix}.evaluation.json \\
        --plot ${prefix}.evaluation.png \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.evaluation.tsv
    touch ${prefix}.evaluation.json
    touch ${prefix}.evaluation.png
    """
}
