process HELIXER_EVALUATE {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/helixer-tools-evaluate:0.1.0--pyhdfd78af_0' :
        'biocontainers/helixer-tools-evaluate:0.1.0--pyhdfd78af_0' }"

    input:
    tuple val(meta), path(labels), path(predictions, stageAs: 'predictions?/*'), path(reference), path(gff3, stageAs: 'gene_models?/*'), path(regions)

    output:
    tuple val(meta), path("*.evaluation.tsv") , emit: table
    tuple val(meta), path("*.evaluation.json"), emit: json
    tuple val(meta), path("*.evaluation.html"), emit: html
    tuple val(meta), path("*.evaluation.png") , emit: plot, optional: true
    tuple val("${task.process}"), val('helixer-evaluate'), eval("helixer-evaluate --version | sed 's/^helixer-evaluate //'"), topic: versions, emit: versions_helixer_evaluate

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // base-wise (labels + predictions h5), gene level (reference + predicted GFF3s), or both;
    // meta.names: one name per predictions file (e.g. [ 'pretrained', 'tuned' ])
    def base_args = labels ? "--labels ${labels} --predictions ${predictions} --plot ${prefix}.evaluation.png" : ''
    def gene_args = reference ? "--reference ${reference} --gff3 ${gff3}" : ''
    def names_arg = meta.names ? "--names ${meta.names.join(' ')}" : ''
    // regions: BED or h5 (e.g. helixer-split's validation_data.h5): the gene level only there (held out)
    def regions_arg = regions ? "--regions ${regions}" : ''
    """
    helixer-evaluate \\
        ${base_args} \\
        ${gene_args} \\
        ${names_arg} \\
        ${regions_arg} \\
        --output ${prefix}.evaluation.tsv \\
        --json ${prefix}.evaluation.json \\
        --html ${prefix}.evaluation.html \\
        --threads ${task.cpus} \\
        ${args}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.evaluation.tsv
    touch ${prefix}.evaluation.json
    touch ${prefix}.evaluation.html
    touch ${prefix}.evaluation.png
    """
}
