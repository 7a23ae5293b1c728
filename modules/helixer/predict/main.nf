process HELIXER_PREDICT {
    tag "$meta.id"
    label 'process_medium'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-predict:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-predict:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(h5)
    path(model)

    output:
    tuple val(meta), path("*.predictions.h5"), emit: predictions
    tuple val("${task.process}"), val('helixer-predict'), eval("helixer-predict --version | sed 's/^helixer-predict //'"), topic: versions, emit: versions_helixer_predict

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    helixer-predict \\
        --model ${model} \\
        --h5 ${h5} \\
        --output ${prefix}.predictions.h5 \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.predictions.h5
    """
}
