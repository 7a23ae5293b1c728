#!/usr/bin/env bash
# Run every test layer: unit, integration on real genomes, upstream compatibility, CLI contracts,
# Galaxy (lint + the wrappers' tests in a real Galaxy server on 127.0.0.1), Nextflow static checks,
# packaging. Sets up what it needs first. Extra arguments go to pytest (e.g. -k fasta2h5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --all
. .venv/helixer-tools-env.sh
# on the test command a missing layer is a failure, not a skip
export HELIXER_TOOLS_REQUIRE_GALAXY=1 HELIXER_TOOLS_REQUIRE_STATIC_TOOLS=1 HELIXER_TOOLS_REQUIRE_HELIXERPOST=1
exec .venv/bin/python -m pytest -ra "$@"
