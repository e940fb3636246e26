// What each fault of the chaos schedule does to a process, outside tally: kill -9 and restart a
// broker of the 3-node cluster (stack/stack.sh broker N kill|start), SIGSTOP / SIGCONT the schema
// registry, kill -9 one process of a node:cluster role. The role restarts and the own Redis /
// PostgreSQL restarts live in the scenario and own-services.ts.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../lib/run-context.js';

const run = promisify(execFile);

export type FaultKind = 'aggregator-kill' | 'broker-kill' | 'redis-restart' | 'postgres-restart' | 'registry-stop' | 'broadcaster-kill';

/** The schedule: every fault, in order (the broker only with 3 brokers). */
export function faultSchedule(options: { brokers: number; aggregatorKills: number }): FaultKind[] {
  const kills = Array.from({ length: options.aggregatorKills }, () => 'aggregator-kill' as const);
  const [firstKill, ...otherKills] = kills;
  return [
    ...(firstKill ? [firstKill] : []),
    ...(options.brokers === 3 ? ['broker-kill' as const] : []),
    'redis-restart',
    ...otherKills.slice(0, 1),
    'postgres-restart',
    'registry-stop',
    'broadcaster-kill',
    ...otherKills.slice(1),
  ];
}

/** `stack/stack.sh broker <node> kill|start` (the 3-node cluster of `up --brokers 3`). */
export async function brokerAction(node: number, action: 'kill' | 'start'): Promise<void> {
  await run('bash', [join(PROJECT_ROOT, 'stack', 'stack.sh'), 'broker', String(node), action], { cwd: PROJECT_ROOT, timeout: 180_000 });
}

/** `stack/stack.sh up --brokers 3`: idempotent, starts only the nodes that are not running. */
export async function threeBrokersUp(say: (line: string) => void): Promise<void> {
  const { stdout } = await run('bash', [join(PROJECT_ROOT, 'stack', 'stack.sh'), 'up', '--brokers', '3'], { cwd: PROJECT_ROOT, timeout: 300_000 });
  for (const line of stdout.trim().split('\n')) if (/kafka3/.test(line)) say(line);
}

/** The pid listening on a local TCP port (ss), e.g. the schema registry's. */
export async function listenerPid(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Hltnp', `sport = :${port}`]);
  const pid = /pid=(\d+)/.exec(stdout)?.[1];
  if (!pid) throw new Error(`no process listens on port ${port} (or ss cannot see it)`);
  return Number(pid);
}

/**
 * SIGSTOP `pid` for `ms`, then SIGCONT, by a detached shell: if this bench dies meanwhile, the
 * process (the shared registry) is still continued. `cont()` continues it at once.
 */
export function pauseProcess(pid: number, ms: number): { cont(): void } {
  const guard = spawn('sh', ['-c', `kill -STOP ${pid}; sleep ${(ms / 1000).toFixed(3)}; kill -CONT ${pid}`], { detached: true, stdio: 'ignore' });
  guard.unref();
  return {
    cont() {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    },
  };
}

/** The child processes of `pid` (a node:cluster primary's workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
