#!/usr/bin/env bash
# `npm run test:unit`: the unit layer (test/**/<name>.test.ts), every file at once, no service.
# Builds first (installing the Node dependencies, and gcc for the broadcaster's C addon, if missing)
# but brings up no stack and runs no migration. Every TALLY_* service address points at a closed port, so a
# unit test that quietly needs Kafka, the registry, PostgreSQL or Redis fails loudly (connection
# refused) instead of passing because the machine happens to run them. Extra arguments go to
# `node --test`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh build
closed=127.0.0.1:1 # port 1 (tcpmux) is not served here: connect() is refused at once
export TALLY_ENV=test TALLY_LOG_LEVEL="${TALLY_LOG_LEVEL:-warn}" \
  TALLY_KAFKA_BROKERS="$closed" \
  TALLY_REGISTRY_URL="http://$closed/apis/ccompat/v7" \
  TALLY_PG_URL="postgres://tally_app:tally_app@$closed/tally" \
  TALLY_PG_ADMIN_URL="postgres://tally_admin:tally_admin@$closed/tally" \
  TALLY_REDIS_URL="redis://$closed"
mapfile -t files < <(find dist/test dist/src -name '*.test.js' ! -name '*.integration.test.js' | sort)
echo "[test:unit] ${#files[@]} unit test files, all services unreachable on purpose"
# --test-timeout bounds each test (Node 20: each file as a whole too); --test-force-exit ends a
# file's process once its tests are done, even if a failed test left a handle open.
exec node --test --test-concurrency=4 --test-timeout=20000 --test-force-exit --test-reporter=spec "$@" "${files[@]}"
