// Render a module's script for each of its nf-test cases, as Nextflow would, without Nextflow:
//   groovy render_module.groovy MODULE_MAIN_NF NF_TEST PROJECT_DIR EXT_ARGS CPUS
// For every non-stub test: the test's inputs (its `input[i] = ...` code, evaluated with projectDir and
// file()), where each input file is staged (by name, or by the declaration's stageAs pattern), the script
// (the `script:` block's Groovy evaluated with task, meta and the staged inputs bound as Nextflow binds
// them: one file as its name, several as a blank-separated list, none as an empty list) and the output
// patterns of the `output:` block (evaluated the same way), printed as JSON.
import groovy.json.JsonOutput

class Staged {  // Nextflow's BlankSeparatedList: several files, written "a b"; none is false
    List items
    Staged(List items) { this.items = items }
    String toString() { items.join(' ') }
    boolean asBoolean() { !items.isEmpty() }
    int size() { items.size() }
    Iterator iterator() { items.iterator() }
}

def (mainNf, nfTest, projectDir, extArgs, cpus) = args as List
def module = new File(mainNf).text
def process = (module =~ /(?m)^process\s+(\w+)/)[0][1]

def section = { String text, String from, List<String> to ->
    int a = text.indexOf(from)
    assert a >= 0 : "${mainNf}: no ${from}"
    a += from.length()
    int b = to.collect { text.indexOf(it, a) }.findAll { it >= 0 }.min() ?: text.length()
    text.substring(a, b)
}

// top-level comma split (commas inside parentheses or quotes stay)
def splitTop = { String s ->
    def parts = []; int depth = 0; def cur = new StringBuilder(); Character quote = null
    s.each { ch ->
        if (quote != null) { if (ch == quote) quote = null }
        else if (ch == "'" || ch == '"') quote = ch as Character
        else if (ch == '(') depth++
        else if (ch == ')') depth--
        if (ch == ',' && depth == 0 && quote == null) { parts << cur.toString().trim(); cur = new StringBuilder() }
        else cur.append(ch)
    }
    if (cur.toString().trim()) parts << cur.toString().trim()
    parts
}

def parseItem = { String item ->
    def m = item =~ /^(val|path)\s*\(?\s*(\w+)\s*(?:,\s*stageAs:\s*'([^']*)')?\s*\)?$/
    assert m.matches() : "${mainNf}: cannot read input declaration '${item}'"
    [kind: m.group(1), name: m.group(2), stageAs: m.group(3)]
}

def inputs = section(module, 'input:', ['output:']).readLines()*.trim().findAll { it && !it.startsWith('//') }.collect { line ->
    line.startsWith('tuple') ? splitTop(line.substring(5).trim()).collect(parseItem) : [parseItem(line)]
}
def outputLines = section(module, 'output:', ['when:', 'script:']).readLines()*.trim().findAll { it =~ /path\("/ }
def scriptCode = section(module, 'script:', ['stub:'])
def text = new File(nfTest).text
def results = []
def tests = (text =~ /(?s)test\("([^"]+)"\)\s*\{(.*?)\n    \}/)
tests.each { match ->
    def name = match[1], body = match[2]
    if (body.contains('"-stub"')) return
    def code = (body =~ /(?s)process\s*\{\s*"""(.*?)"""/)[0][1]
    def input = []
    def binding = new Binding(projectDir: projectDir, input: input,
        file: { Object[] a -> new File(a.find { it !instanceof Map }.toString()) })
    new GroovyShell(binding).evaluate(code)
    def staging = []
    def values = [:]
    inputs.eachWithIndex { decl, i ->
        def given = decl.size() == 1 ? [input[i]] : input[i]
        assert given.size() == decl.size() : "${nfTest}: test '${name}' gives ${given.size()} values for input ${i}, the module declares ${decl.size()}"
        decl.eachWithIndex { item, j ->
            def v = given[j]
            if (item.kind == 'val') { values[item.name] = v; return }
            def files = (v instanceof Collection ? v.flatten() : [v]).findAll { it != null }
            def names = files.withIndex().collect { f, k ->
                def dest = item.stageAs ? item.stageAs.replace('?', "${k + 1}").replace('*', f.name) : f.name
                staging << [f.absolutePath, dest]
                dest
            }
            values[item.name] = names.size() == 1 ? names[0] : new Staged(names)
        }
    }
    def task = [ext: [args: extArgs, prefix: null, when: null], cpus: cpus as int, process: process]
    def shellBinding = new Binding(values + [task: task, moduleDir: new File(mainNf).parent,
        error: { String msg -> throw new IllegalStateException(msg) }])
    def script = new GroovyShell(shellBinding).evaluate(scriptCode).toString()
    def outputs = outputLines.collect { line ->
        def pattern = (line =~ /path\(("[^"]*")\)/)[0][1]
        [pattern: new GroovyShell(new Binding(values + [task: task])).evaluate(pattern).toString(),
         optional: line.contains('optional: true')]
    }
    results << [test: name, staging: staging, script: script, outputs: outputs]
}
println JsonOutput.toJson([process: process, tests: results])
