#!/usr/bin/env bash
# The whole test gate: lint, format, layer contracts, types, then the test suite.
# Extra arguments go to pytest (e.g. `bash tests/check.sh tests/unit -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DECNET_VENV:-.venv}/bin
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/lint-imports"
"$bin/mypy"
"$bin/pytest" "$@"
