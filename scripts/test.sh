#!/usr/bin/env bash
# The test command (README quickstart, .ci/run): set up everything, then run every test file with
# node's test runner against the real stack. Extra arguments go to `node --test`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
# The dashboard's browser test drives Debian's Chromium (npx playwright install cannot download
# here); the operations test scrapes the roles with a real Prometheus server.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v prometheus >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test] installing Debian packages for the tests: ${missing[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
fi
export TALLY_ENV=test TALLY_LOG_LEVEL="${TALLY_LOG_LEVEL:-warn}"
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
echo "[test] ${#files[@]} test files"
exec node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
