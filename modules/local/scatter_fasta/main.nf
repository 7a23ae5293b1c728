process SCATTER_FASTA {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/../../helixer/post/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-post:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-post:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(fasta)
    val(chunk_bases)

    output:
    tuple val(meta), path("*.[0-9][0-9][0-9][0-9][0-9].fa"), emit: fasta
    tuple val("${task.process}"), val('helixer-tools'), eval("python -m helixer_tools.cli.chunks --version | sed 's/^helixer-chunks //'"), topic: versions, emit: versions_helixer_tools

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // whole sequences, in genome order, about chunk_bases bases per file: one annotate task each
    """
    python -m helixer_tools.cli.chunks scatter \\
        --fasta ${fasta} \\
        --chunk-bases ${chunk_bases} \\
        --prefix ${prefix} \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.00001.fa
    """
}
