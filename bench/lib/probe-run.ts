// What every measurement probe under bench/probes/ does first: take the machine lock for its whole
// run (lib/machine-lock.ts) and print the load average, at the start and again at exit, so each
// figure it prints can be read against the other work on the machine.
import { holdMachineLock } from './machine-lock.js';
import { BUSY_LOAD, loadAverage } from './machine-info.js';

export async function startProbe(name: string): Promise<void> {
  await holdMachineLock();
  const start = loadAverage();
  const busy = start[0]! > BUSY_LOAD ? ` — measured on a busy machine (1-minute load above ${BUSY_LOAD}): figures are lower bounds` : '';
  process.stderr.write(`[${name}] load average at start: ${start.join(' ')}${busy}\n`);
  process.once('exit', () => process.stderr.write(`[${name}] load average at end: ${loadAverage().join(' ')}\n`));
}
