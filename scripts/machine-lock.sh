#!/usr/bin/env bash
# Runs a command while holding the machine-wide lock that keeps benchmarks and the integration
# tests from sharing the CPU (2 cores here: two such runs at once make every figure a lower bound).
#
#   bash scripts/machine-lock.sh <command> [args...]
#
# Waits for the lock (printing who holds it), then runs the command with TALLY_MACHINE_LOCK_HELD=1
# so nested calls (a bench scenario started by a script that already holds the lock) do not wait on
# themselves. Lock file: $TALLY_MACHINE_LOCK (default: <system temp dir>/tally-bench.lock).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/machine-lock.sh <command> [args...]" >&2; exit 2; }
if [ "${TALLY_MACHINE_LOCK_HELD:-0}" = 1 ]; then exec "$@"; fi
LOCK="${TALLY_MACHINE_LOCK:-${TMPDIR:-/tmp}/tally-bench.lock}"
exec 8>>"$LOCK"
if ! flock -n 8; then
  echo "[lock] waiting for the machine lock $LOCK (held by: $(cat "$LOCK.owner" 2>/dev/null || echo unknown))" >&2
  flock 8
fi
echo "pid $$ since $(date -u +%H:%M:%SZ) in $(pwd): $*" >"$LOCK.owner"
export TALLY_MACHINE_LOCK_HELD=1
# This shell holds the lock on fd 8 until the command ends; the command does not inherit fd 8, so a
# daemon it starts (the stack's broker, say) cannot keep the lock after the run.
status=0
"$@" 8>&- || status=$?
rm -f "$LOCK.owner"
exit "$status"
