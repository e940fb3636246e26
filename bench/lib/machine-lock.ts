// One benchmark at a time on this machine, and never beside the integration tests: every bench
// scenario and probe holds the machine-wide lock (scripts/machine-lock.sh, a flock on
// <system temp dir>/tally-bench.lock) for its whole run, however it was started. `npm run bench`
// takes it in scripts/bench.sh; `node dist/bench/bench-cli.js …` or a probe started by hand re-runs
// itself through the lock script. The script sets TALLY_MACHINE_LOCK_HELD=1, so the re-run (and
// anything started under a holder) passes through instead of waiting on itself.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './run-context.js';

const LOCK_SCRIPT = join(PROJECT_ROOT, 'scripts', 'machine-lock.sh');

export function machineLockHeld(): boolean {
  return process.env.TALLY_MACHINE_LOCK_HELD === '1';
}

/**
 * Returns at once when this process holds the machine lock. Otherwise runs this same command again
 * under scripts/machine-lock.sh (which waits for the lock, printing who holds it) and exits with
 * its status: the caller's code after this call only ever runs under the lock.
 */
export async function holdMachineLock(): Promise<void> {
  if (machineLockHeld()) return;
  const child = spawn('bash', [LOCK_SCRIPT, process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  // Ctrl-C reaches the whole process group (the child too): outlive it so the child can clean up.
  // A signal sent to this process alone is passed on.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGHUP', forward('SIGHUP'));
  const status = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`[lock] could not run ${LOCK_SCRIPT}: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
  process.exit(status);
}
