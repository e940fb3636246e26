#!/usr/bin/env bash
# `npm run test:integration`: the integration layer (test/**/<name>.integration.test.ts) against
# the real stack, one file at a time, under the machine lock (scripts/machine-lock.sh: never beside
# a benchmark or another integration run). Brings the stack up and migrates first; expects a build
# (npm test and npm run test:unit build). Extra arguments go to `node --test`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${TALLY_MACHINE_LOCK_HELD:-0}" != 1 ]; then exec bash scripts/machine-lock.sh bash "$0" "$@"; fi
[ -f dist/src/cli.js ] || bash scripts/setup.sh build
# The dashboard's browser test drives Debian's Chromium (npx playwright install cannot download
# here); the operations test scrapes the roles with a real Prometheus server.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v prometheus >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test] installing Debian packages for the tests: ${missing[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
fi
bash scripts/setup.sh services
export TALLY_ENV=test TALLY_LOG_LEVEL="${TALLY_LOG_LEVEL:-warn}"
mapfile -t files < <(find dist/test -name '*.integration.test.js' | sort)
echo "[test:integration] ${#files[@]} integration test files, one at a time"
# Nothing can hang the run: --test-timeout bounds every test (Node 20 applies it to each test file
# as a whole too, so it is sized for the slowest file, the crash drill, with room for a loaded
# machine); --test-force-exit ends a file's process once its tests are done, even if a failed test
# left a handle open (a client, a timer) that would keep it alive.
exec node --test --test-concurrency=1 --test-timeout=600000 --test-force-exit --test-reporter=spec "$@" "${files[@]}"
