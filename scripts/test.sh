#!/usr/bin/env bash
# The test command (README quickstart, .ci/run): the unit layer first (no service, seconds), then
# the integration layer against the real stack under the machine lock. Extra arguments go to
# `node --test` in both layers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/test-unit.sh "$@"
exec bash scripts/test-integration.sh "$@"
