process GATHER_GFF3 {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/../../helixer/post/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-post:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-post:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(gff3s, stageAs: 'parts/*')

    output:
    tuple val(meta), path("*.gff3"), emit: gff3
    tuple val("${task.process}"), val('helixer-tools'), eval("python -m helixer_tools.cli.chunks --version | sed 's/^helixer-chunks //'"), topic: versions, emit: versions_helixer_tools

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // gff3s in genome order: the caller sorts them (SCATTER_FASTA numbers the parts)
    """
    python -m helixer_tools.cli.chunks gather \\
        --gff3 ${gff3s} \\
        --output ${prefix}.gff3 \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.gff3
    """
}
