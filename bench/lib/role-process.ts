// The roles a scenario needs, started as child processes of `node dist/src/cli.js <role>` with a
// per-run TALLY_* environment, awaited on /readyz, stopped with SIGTERM (SIGKILL after a grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './run-context.js';
import { processTreeUsage, type ProcessUsage } from './process-usage.js';
import { setTimeout as sleep } from 'node:timers/promises';

// Below the ephemeral range: the swarm's own connections cannot take the port before a role binds it.
export { freePort } from '../../test/support/free-port.js';

export interface RoleProcess {
  readonly role: string;
  readonly pid: number;
  readonly port: number;
  readonly logPath: string;
  readonly child: ChildProcess;
  usage(): ProcessUsage;
  stop(graceMs?: number): Promise<number | string | null>;
}

export interface StartRoleOptions {
  role: 'ingest' | 'aggregate' | 'broadcast';
  port: number;
  env: Record<string, string>;
  /** Where the role's stdout/stderr go (pino JSON lines). */
  logDir: string;
  /** How long to wait for /readyz = 200. */
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. --max-old-space-size. */
  nodeArgs?: string[];
}

export async function waitForReady(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process exited before ${url} was ready (last: ${last})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last})`);
}

export async function startRole(options: StartRoleOptions): Promise<RoleProcess> {
  const logPath = join(options.logDir, `${options.role}-${options.port}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), join(PROJECT_ROOT, 'dist', 'src', 'cli.js'), options.role], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const role: RoleProcess = {
    role: options.role,
    pid: child.pid!,
    port: options.port,
    logPath,
    child,
    usage: () => processTreeUsage(child.pid!),
    async stop(graceMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        log.end();
        return result;
      }
      log.end();
      return child.signalCode ?? child.exitCode;
    },
  };
  try {
    await waitForReady(`http://127.0.0.1:${options.port}/readyz`, options.readyTimeoutMs ?? 60_000, () => child.exitCode === null && child.signalCode === null);
  } catch (error) {
    await role.stop(2000);
    throw new Error(`${options.role} did not become ready: ${(error as Error).message}; see ${logPath}`);
  }
  return role;
}

/** Stops every role, last started first; never throws. */
export async function stopRoles(roles: RoleProcess[], say: (message: string) => void): Promise<void> {
  for (const role of [...roles].reverse()) {
    const result = await role.stop().catch((error: unknown) => String(error));
    say(`${role.role} (pid ${role.pid}) stopped: ${result}`);
  }
}
