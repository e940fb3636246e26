#!/usr/bin/env bash
# `npm run bench -- <scenario> [options]`: set up everything, then run a bench scenario.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >&2
# One benchmark at a time on this machine, and never beside the integration tests.
exec bash scripts/machine-lock.sh node dist/bench/bench-cli.js "$@"
