#!/usr/bin/env bash
# The whole test gate: lint, format, layer contracts, types, then the test suite.
# Extra arguments go to pytest (e.g. `bash tests/check.sh tests/unit -x`). The suite runs on two
# xdist workers, a file's tests on one worker in order: with one, the machine sat half idle while
# servers started and tests waited on them. An extra `-n N` sets the workers (the last `-n`
# wins); `-n 0` runs it in this process (for `-s` or a debugger).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DECNET_VENV:-.venv}/bin
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/lint-imports"
"$bin/mypy"
"$bin/pytest" -n 2 --dist loadfile "$@"
