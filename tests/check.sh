#!/usr/bin/env bash
# The whole test gate: lint, format, layer contracts, types, then the test suite.
# Extra arguments go to pytest (e.g. `bash tests/check.sh tests/unit -x`). The suite runs on
# DECNET_TEST_WORKERS workers (default 2), a file's tests on one worker in order: with one, the
# machine sat half idle while servers started and tests waited on them. `-n 0` runs it in this
# process (for `-s` or a debugger).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DECNET_VENV:-.venv}/bin
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/lint-imports"
"$bin/mypy"
"$bin/pytest" -n "${DECNET_TEST_WORKERS:-2}" --dist loadfile "$@"
