// A role as an operator (or a bench) starts it: `node dist/src/cli.js <role>` in a child process,
// configured by environment variables alone, ready once it logs `listeningMessage` (its JSON log
// lines are kept for the test to read). Used for the clusters of ingest and broadcast.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor, within } from './wait.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface RoleCli {
  readonly primary: ChildProcess;
  readonly port: number;
  readonly logLines: Array<Record<string, unknown>>;
  /** SIGTERM, and waits for the primary to exit. */
  stop(): Promise<void>;
}

export async function startRoleCli(role: 'ingest' | 'broadcast', env: Record<string, string>, options: { listeningMessage: string; timeoutMs: number }): Promise<RoleCli> {
  const primary = spawn(process.execPath, [CLI, role], {
    env: { ...process.env, TALLY_ENV: 'test', TALLY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logLines: Array<Record<string, unknown>> = [];
  let pending = '';
  primary.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) logLines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const listening = await waitFor(() => {
    if (primary.exitCode !== null) throw new Error(`tally ${role} exited with ${primary.exitCode}`);
    return logLines.find((line) => line.msg === options.listeningMessage);
  }, { timeoutMs: options.timeoutMs, what: `tally ${role} to log "${options.listeningMessage}"` });
  return {
    primary,
    port: listening.port as number,
    logLines,
    async stop() {
      if (primary.exitCode !== null) return;
      primary.kill('SIGTERM');
      await within(new Promise((resolve) => primary.once('exit', resolve)), { timeoutMs: 30_000, what: `the ${role} primary to exit after SIGTERM` });
    },
  };
}
