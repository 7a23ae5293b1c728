process HELIXER_TRAIN {
    tag "$meta.id"
    label 'process_high'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-train:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-train:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(training, stageAs: 'training?/*'), path(validation, stageAs: 'validation?/*')
    path(model)

    output:
    tuple val(meta), path("*.model.h5")    , emit: model
    tuple val(meta), path("*.metrics.tsv") , emit: metrics
    tuple val(meta), path("*.training.png"), emit: plot
    tuple val("${task.process}"), val('helixer-train'), eval("helixer-train --version | sed 's/^helixer-train //'"), topic: versions, emit: versions_helixer_train

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // meta.route: the fine-tuning route ('head' = route 2 by default); 'scratch' needs no model
    def routes = ['scratch', 'whole', 'head', 'coverage', 'resume']
    def route = meta.route ?: 'head'
    if (!(route in routes)) {
        error "HELIXER_TRAIN: meta.route must be one of ${routes}, not '${route}'"
    }
    if (route != 'scratch' && !model) {
        error "HELIXER_TRAIN: route '${route}' needs a model (a pretrained Helixer .h5 or a checkpoint)"
    }
    def model_arg = route == 'scratch' ? '' : (route == 'resume' ? "--checkpoint ${model}" : "--pretrained ${model}")
    """
    helixer-train ${route} \\
        ${model_arg} \\
        --training ${training} \\
        --validation ${validation} \\
        --output ${prefix}.model.h5 \\
        --metrics ${prefix}.metrics.tsv \\
        --plot ${prefix}.training.png \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.model.h5
    touch ${prefix}.metrics.tsv
    touch ${prefix}.training.png
    """
}
