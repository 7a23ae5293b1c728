#!/usr/bin/env bash
set -euo pipefail
# the library only: commands come from the per-tool outputs' entry_points
"${PYTHON}" -m pip install . --no-deps --no-build-isolation --no-cache-dir -vvv
rm -f "${PREFIX}"/bin/helixer-*
