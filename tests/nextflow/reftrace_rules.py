"""reftrace lint rules for this repository's Nextflow modules (nf-core conventions we keep)."""

from reftrace import Module
from reftrace.directives import ContainerFormat
from reftrace.linting import LintError, LintResults, rule

RESOURCE_LABELS = {"process_single", "process_low", "process_medium", "process_high", "process_long",
                   "process_high_memory"}
EXTRA_LABELS = {"process_gpu"}


@rule
def one_resource_label(module: Module, results: LintResults):
    for process in module.processes:
        names = [label.label for label in process.labels]
        resource = [n for n in names if n in RESOURCE_LABELS]
        unknown = [n for n in names if n not in RESOURCE_LABELS | EXTRA_LABELS]
        if len(resource) != 1:
            results.errors.append(LintError(process.line, f"{process.name}: needs exactly one resource label, has {resource}"))
        if unknown:
            results.errors.append(LintError(process.line, f"{process.name}: non-standard labels {unknown}"))


@rule
def tagged_singularity_and_docker_containers(module: Module, results: LintResults):
    for process in module.processes:
        if len(process.containers) != 1:
            results.errors.append(LintError(process.line, f"{process.name}: needs one container directive"))
            continue
        container = process.containers[0]
        if container.format != ContainerFormat.TERNARY:
            results.errors.append(LintError(container.line, f"{process.name}: container must choose singularity/docker"))
            continue
        for name in (container.true_name, container.false_name):
            if not name or ":" not in name.rsplit("/", 1)[-1] or " " in name:
                results.errors.append(LintError(container.line, f"{process.name}: container '{name}' has no tag"))
