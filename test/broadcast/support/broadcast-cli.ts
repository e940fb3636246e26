// `tally broadcast` as a bench starts it: the CLI in a child process, configured by environment
// variables alone, ready once it logs "broadcast cluster listening" (its JSON log lines are kept).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor, within } from '../../support/wait.js';

const CLI = fileURLToPath(new URL('../../../src/cli.js', import.meta.url));

export interface BroadcastCli {
  readonly primary: ChildProcess;
  readonly port: number;
  readonly logLines: Array<Record<string, unknown>>;
  /** SIGTERM, and waits for the primary to exit. */
  stop(): Promise<void>;
}

export async function startBroadcastCli(env: Record<string, string>): Promise<BroadcastCli> {
  const primary = spawn(process.execPath, [CLI, 'broadcast'], {
    env: { ...process.env, TALLY_ENV: 'test', TALLY_LOG_LEVEL: 'info', TALLY_BROADCAST_PORT: '0', ...env },
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
  const listening = await waitFor(() => logLines.find((line) => line.msg === 'broadcast cluster listening'), { timeoutMs: 30_000, what: 'the cluster to log that it listens' });
  return {
    primary,
    port: listening.port as number,
    logLines,
    async stop() {
      if (primary.exitCode !== null) return;
      primary.kill('SIGTERM');
      await within(new Promise((resolve) => primary.once('exit', resolve)), { timeoutMs: 30_000, what: 'the cluster primary to exit after SIGTERM' });
    },
  };
}
