process HELIXER_FETCHMODEL {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-fetch-model:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-fetch-model:0.1.0--pyhdfd78af_0' }"

    // meta: [ id, lineage ] (its default model) or [ id, model ] (a model by name); model_list: a list in
    // upstream's format (a site mirror), or [] for upstream's published list
    input:
    val(meta)
    path(model_list)

    output:
    tuple val(meta), path("models/*/*.h5")  , emit: model
    tuple val(meta), path("*.models.json")  , emit: json
    tuple val("${task.process}"), val('helixer-fetch-model'), eval("helixer-fetch-model --version | sed 's/^helixer-fetch-model //'"), topic: versions, emit: versions_helixer_fetch_model

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    if (!meta.lineage && !meta.model) {
        error "HELIXER_FETCHMODEL: meta needs a lineage (its default model) or a model name"
    }
    def which = meta.model ? "--model '${meta.model}'" : "--lineage '${meta.lineage}'"
    def list = model_list ? "--model-list ${model_list}" : ''
    """
    helixer-fetch-model \\
        ${which} \\
        ${list} \\
        --output-dir models \\
        --json ${prefix}.models.json \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    mkdir -p models/${meta.lineage ?: 'lineage'}
    touch models/${meta.lineage ?: 'lineage'}/${meta.model ?: meta.id}.h5
    echo '[]' > ${prefix}.models.json
    """
}
