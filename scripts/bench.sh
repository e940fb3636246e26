#!/usr/bin/env bash
# `npm run bench -- <scenario> [options]`: set up everything, then run a bench scenario.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh >&2
# `bench aggregate --profile` samples the aggregator with perf (Debian package linux-perf).
if [[ " $* " == *" --profile "* ]] && ! command -v perf >/dev/null; then
  echo "[bench] installing linux-perf for --profile" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf) >&2
fi
# One benchmark at a time on this machine, and never beside the integration tests.
exec bash scripts/machine-lock.sh node dist/bench/bench-cli.js "$@"
