process HELIXER_FASTA2H5 {
    tag "$meta.id"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-fasta2h5:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-fasta2h5:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(fasta)

    output:
    tuple val(meta), path("*.h5")            , emit: h5
    tuple val(meta), path("*.rename_map.tsv"), emit: rename_map
    tuple val("${task.process}"), val('helixer-fasta2h5'), eval("helixer-fasta2h5 --version | sed 's/^helixer-fasta2h5 //'"), topic: versions, emit: versions_helixer_fasta2h5

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def species = meta.species ?: meta.id
    """
    helixer-fasta2h5 \\
        --fasta ${fasta} \\
        --species '${species}' \\
        --output ${prefix}.h5 \\
        --rename-map ${prefix}.rename_map.tsv \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.h5
    touch ${prefix}.rename_map.tsv
    """
}
