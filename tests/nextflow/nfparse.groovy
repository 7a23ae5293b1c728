// Parse Nextflow scripts/configs with Groovy 4 (Nextflow's Groovy major) up to the CONVERSION phase:
// syntax and AST only, no class resolution. Prints one line per file; exit 1 if any file fails.
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases

int failed = 0
args.each { path ->
    def unit = new CompilationUnit()
    unit.addSource(new File(path))
    try {
        unit.compile(Phases.CONVERSION)
        println "OK   ${path}"
    } catch (MultipleCompilationErrorsException e) {
        failed++
        println "FAIL ${path}: " + e.message.readLines().findAll { it.trim() }.take(3).join(' | ')
    }
}
System.exit(failed ? 1 : 0)
