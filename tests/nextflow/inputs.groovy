// Run lib/HelixerInputs.groovy (the pipeline's input checks) on the cases of tests/test_nextflow.py:
//   groovy inputs.groovy LIB_FILE  (cases as JSON on stdin: [{name, call, args}]; paths are strings)
// Prints {name: result} as JSON, where an IllegalArgumentException is {"error": message}.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

def inputs = new GroovyClassLoader().parseClass(new File(args[0]))
def cases = new JsonSlurper().parse(System.in)
def results = [:]
cases.each { c ->
    try {
        def a = c.args
        def result
        switch (c.call) {
            case 'genomes': result = inputs.genomes(a.rows); break
            case 'coverage':
                def indexes = a.indexes as Map
                result = inputs.coverage(a.genomes, a.bams, { bam -> indexes[bam] }); break
            case 'withoutBams': result = inputs.withoutBams(a.coverage); break
            case 'noCoverage': result = inputs.noCoverage(a.genomes); break
            case 'finetuneSets': result = inputs.finetuneSets(a.genomes, a.labels); break
            default: throw new IllegalStateException("unknown call ${c.call}")
        }
        results[c.name] = result
    } catch (IllegalArgumentException e) {
        results[c.name] = [ error: e.message ]
    }
}
println JsonOutput.toJson(results)
