#!/usr/bin/env bash
# Everything the quickstart commands need, idempotent: Node deps, build, the local stack,
# database migrations. Set TALLY_SKIP_STACK=1 to use services you run yourself (TALLY_* URLs).
#
#   bash scripts/setup.sh            deps, build, stack, migrations
#   bash scripts/setup.sh build      deps and build only (what the unit tests need: no service)
#   bash scripts/setup.sh services   stack and migrations only (after a build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
phase="${1:-all}"
case "$phase" in all|build|services) ;; *) echo "usage: scripts/setup.sh [build|services]" >&2; exit 2 ;; esac

if [ "$phase" != services ]; then
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || { echo "[setup] Node.js 20 or newer is required (found $(node --version))" >&2; exit 1; }

  lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f node_modules/.tally-lock-hash ] || [ "$(cat node_modules/.tally-lock-hash)" != "$lock_hash" ]; then
    echo "[setup] installing Node dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > node_modules/.tally-lock-hash
  fi

  echo "[setup] building (tsc, then the broadcaster's optional C addon)"
  npx tsc -p tsconfig.json
  # The addon (and the bench's C programs) need gcc: installed from Debian if this machine lacks it;
  # if that fails too, the build says so and the broadcaster uses its direct write path.
  if ! command -v gcc >/dev/null && command -v apt-get >/dev/null; then
    echo "[setup] installing gcc (Debian) for the broadcaster's C addon"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc) >/dev/null 2>&1 || echo "[setup] gcc could not be installed" >&2
  fi
  node scripts/build-native.mjs
  # tsc never deletes an output: drop the .js of a source that was moved or deleted, so a renamed
  # test file does not run twice (once under its old name, in the wrong layer).
  find dist/src dist/test dist/bench -name '*.js' 2>/dev/null | while read -r js; do
    [ -f "${js#dist/}" ] || [ -f "$(echo "${js#dist/}" | sed 's/\.js$/.ts/')" ] || rm -f "$js" "$js.map"
  done
fi

if [ "$phase" != build ]; then
  if [ "${TALLY_SKIP_STACK:-0}" != 1 ]; then
    bash stack/stack.sh up
  fi
  node dist/src/cli.js migrate
fi
