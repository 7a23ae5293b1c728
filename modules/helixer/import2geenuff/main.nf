process HELIXER_IMPORT2GEENUFF {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-import2geenuff:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-import2geenuff:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(gff3), path(fasta)

    output:
    tuple val(meta), path("*.sqlite3")   , emit: db
    tuple val(meta), path("*.import.log"), emit: log
    tuple val(meta), path("*.import.tsv"), emit: summary
    tuple val("${task.process}"), val('helixer-import2geenuff'), eval("helixer-import2geenuff --version | sed 's/^helixer-import2geenuff //'"), topic: versions, emit: versions_helixer_import2geenuff

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def species = meta.species ?: meta.id
    """
    helixer-import2geenuff \\
        --gff3 ${gff3} \\
        --fasta ${fasta} \\
        --species '${species}' \\
        --output ${prefix}.sqlite3 \\
        --log ${prefix}.import.log \\
        --summary ${prefix}.import.tsv \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.sqlite3
    touch ${prefix}.import.log
    touch ${prefix}.import.tsv
    """
}
