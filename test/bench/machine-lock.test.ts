// holdMachineLock: a bench run started any way holds the machine lock (a private lock file here, so
// the machine's real lock is never touched), passes through when its caller already holds it, and
// waits while someone else does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, within } from '../support/wait.js';

const MACHINE_LOCK = new URL('../../bench/lib/machine-lock.js', import.meta.url).href;

function run(dir: string, env: Record<string, string>, exitCode = 0): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; stderr: () => string } {
  const script = join(dir, 'locked.mjs');
  writeFileSync(script, `import { holdMachineLock } from '${MACHINE_LOCK}';\nawait holdMachineLock();\nconsole.log('held=' + process.env.TALLY_MACHINE_LOCK_HELD);\nprocess.exit(${exitCode});\n`);
  const child = spawn(process.execPath, [script], { env: { ...process.env, TALLY_MACHINE_LOCK: join(dir, 'lock'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { done: within(done, { timeoutMs: 15_000, what: 'the locked script to finish' }), stderr: () => stderr };
}

test('a run started without the lock re-runs itself under it, with its exit status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-lock-'));
  try {
    const { code, stdout } = await run(dir, { TALLY_MACHINE_LOCK_HELD: '0' }, 3).done;
    assert.equal(stdout.trim(), 'held=1');
    assert.equal(code, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under a holder (TALLY_MACHINE_LOCK_HELD=1) it runs at once, even while the lock file is taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-lock-'));
  const holder = spawn('flock', [join(dir, 'lock'), 'sleep', '30'], { stdio: 'ignore' });
  try {
    const { code, stdout } = await run(dir, { TALLY_MACHINE_LOCK_HELD: '1' }).done;
    assert.equal(stdout.trim(), 'held=1');
    assert.equal(code, 0);
  } finally {
    holder.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('while another process holds the lock it waits, says so, and runs once the lock is free', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-lock-'));
  // flock <file> -c: holds the lock until its stdin closes.
  const holder = spawn('flock', [join(dir, 'lock'), '-c', 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    // Taken once a non-blocking flock of the same file fails.
    const taken = () => spawnSync('flock', ['-n', join(dir, 'lock'), 'true']).status !== 0;
    await waitFor(taken, { timeoutMs: 5000, what: 'the holder to take the lock' });
    const waiting = run(dir, { TALLY_MACHINE_LOCK_HELD: '0' });
    await waitFor(() => waiting.stderr().includes('[lock] waiting for the machine lock'), { timeoutMs: 10_000, what: 'the run to say it waits for the lock' });
    holder.stdin!.end();
    const { code, stdout } = await waiting.done;
    assert.equal(stdout.trim(), 'held=1');
    assert.equal(code, 0);
  } finally {
    holder.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
