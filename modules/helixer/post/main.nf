process HELIXER_POST {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-post:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-post:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(h5), path(predictions_h5), path(rename_map)

    output:
    tuple val(meta), path("*.gff3")          , emit: gff3
    tuple val(meta), path("*.post_stats.tsv"), emit: stats
    tuple val("${task.process}"), val('helixer-post'), eval("helixer-post --version | sed 's/^helixer-post //'"), topic: versions, emit: versions_helixer_post

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def map_arg = rename_map ? "--rename-map ${rename_map}" : ''
    """
    helixer-post \\
        --h5 ${h5} \\
        --predictions ${predictions_h5} \\
        --output ${prefix}.gff3 \\
        --stats ${prefix}.post_stats.tsv \\
        ${map_arg} \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.gff3
    touch ${prefix}.post_stats.tsv
    """
}
