// Run lib/HelixerRecipe.groovy (helixer-train's options from the pipeline's parameters) on the cases of
// tests/test_nextflow.py:  groovy recipe.groovy LIB_FILE  (cases as JSON on stdin: [{name, params, route}])
// Prints {name: options string} as JSON, where an IllegalArgumentException is {"error": message}.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

def recipe = new GroovyClassLoader().parseClass(new File(args[0]))
def results = [:]
new JsonSlurper().parse(System.in).each { c ->
    try {
        results[c.name] = recipe.trainArgs(c.params as Map, c.route as String)
    } catch (IllegalArgumentException e) {
        results[c.name] = [ error: e.message ]
    }
}
println JsonOutput.toJson(results)
