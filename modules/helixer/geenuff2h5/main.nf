process HELIXER_GEENUFF2H5 {
    tag "$meta.id"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-geenuff2h5:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-geenuff2h5:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(db), path(h5)

    output:
    tuple val(meta), path("*.labels.h5"), emit: h5
    tuple val("${task.process}"), val('helixer-geenuff2h5'), eval("helixer-geenuff2h5 --version | sed 's/^helixer-geenuff2h5 //'"), topic: versions, emit: versions_helixer_geenuff2h5

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def h5_arg = h5 ? "--h5 ${h5}" : ''
    """
    helixer-geenuff2h5 \\
        --db ${db} \\
        ${h5_arg} \\
        --output ${prefix}.labels.h5 \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.labels.h5
    """
}
