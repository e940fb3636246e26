#!/usr/bin/env bash
# The test command (README quickstart, .ci/run): set up everything, then run every test file with
# node's test runner against the real stack. Extra arguments go to `node --test`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export TALLY_ENV=test TALLY_LOG_LEVEL="${TALLY_LOG_LEVEL:-warn}"
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
echo "[test] ${#files[@]} test files"
exec node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
