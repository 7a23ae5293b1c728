process HELIXER_EXPORTMODEL {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-export-model:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-export-model:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(model)

    output:
    tuple val(meta), path("*.upstream.h5")                             , emit: model
    tuple val(meta), path("*.upstream.pretrained.h5"), optional: true  , emit: pretrained
    tuple val(meta), path("*.upstream.commands.txt")                   , emit: commands
    tuple val("${task.process}"), val('helixer-export-model'), eval("helixer-export-model --version | sed 's/^helixer-export-model //'"), topic: versions, emit: versions_helixer_export_model

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    helixer-export-model \\
        --model ${model} \\
        --output ${prefix}.upstream.h5 \\
        --commands ${prefix}.upstream.commands.txt \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.upstream.h5
    touch ${prefix}.upstream.commands.txt
    """
}
