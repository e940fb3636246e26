#!/usr/bin/env bash
# The main job (README quickstart): set up everything, then run ingest, aggregate and broadcast
# with a demo survey and a trickle of demo votes. Ctrl-C stops the roles (the stack keeps running;
# `npm run stack -- down` stops it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
exec node dist/src/cli.js all --demo
