#!/usr/bin/env bash
# Everything the two quickstart commands need, idempotent: Node deps, build, the local stack,
# database migrations. Set TALLY_SKIP_STACK=1 to use services you run yourself (TALLY_* URLs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "[setup] Node.js 20 or newer is required (found $(node --version))" >&2; exit 1; }

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.tally-lock-hash ] || [ "$(cat node_modules/.tally-lock-hash)" != "$lock_hash" ]; then
  echo "[setup] installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.tally-lock-hash
fi

echo "[setup] building (tsc)"
npx tsc -p tsconfig.json

if [ "${TALLY_SKIP_STACK:-0}" != 1 ]; then
  bash stack/stack.sh up
fi
node dist/src/cli.js migrate
