// Integration: PostgreSQL, Redis
// `tally broadcast` started with environment variables alone runs a node:cluster of
// ceil(target / 16,000) processes on one port, logs when it listens, feeds every process from
// Redis, answers /metrics with the cluster-wide sum, and replaces a worker that dies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { processCountFor } from '../../src/broadcast/broadcast-cluster.js';
import { testConfig } from '../support/test-config.js';
import { waitFor } from '../support/wait.js';
import { startBroadcastCli, type BroadcastCli } from './support/broadcast-cli.js';
import { openSse, snapshotOf, type SseStream } from './support/sse-client.js';
import { createSurvey, deleteSurvey, partial, publishPartial, type CreatedSurvey } from './support/survey-fixtures.js';

const config = testConfig('broadcast-cluster');
const pool = createPool(config.postgres.url, 2);
const redis = new Redis(config.redisUrl);
let survey: CreatedSurvey;
let cli: BroadcastCli;
let primary: ChildProcess;
let port: number;
let logLines: Array<Record<string, unknown>>;
const open: SseStream[] = [];

function childPids(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? children.split(/\s+/).map(Number) : [];
}

function socketCount(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets += 1;
    } catch {
      // closed meanwhile
    }
  }
  return sockets;
}

before(async () => {
  survey = await createSurvey(pool, 'Cluster test', [{ title: 'Pick one', options: ['A', 'B'] }]);
  cli = await startBroadcastCli({ TALLY_BROADCAST_TARGET_CLIENTS: '32000', TALLY_WINDOW_MS: '200' });
  ({ primary, port, logLines } = cli);
});

after(async () => {
  for (const s of open) s.close();
  await cli.stop();
  await deleteSurvey(pool, redis, survey.id);
  await pool.end();
  redis.disconnect();
});

test('the process count follows the target client count', () => {
  assert.equal(processCountFor(1), 1);
  assert.equal(processCountFor(16_000), 1);
  assert.equal(processCountFor(16_001), 2);
  assert.equal(processCountFor(32_000), 2);
  assert.equal(processCountFor(250_000), 16);
});

test('two workers share the port; every one of them delivers snapshots; /metrics sums the cluster', async () => {
  assert.equal(childPids(primary.pid!).length, 2);
  // Each worker logs when it listens, on its own stdout: a line may arrive after the primary said
  // the cluster is up (that is what startBroadcastCli waits for).
  await waitFor(() => logLines.filter((line) => line.msg === 'broadcast listening').length === 2, { timeoutMs: 10_000, what: 'each worker to log "broadcast listening"' });
  const url = `http://127.0.0.1:${port}/v1/surveys/${survey.id}/results/stream`;
  // Workers accept from the shared socket themselves (SCHED_NONE): the kernel picks one, so open
  // streams until each worker holds some (counted as socket descriptors), at least 6, at most 60.
  const workers = childPids(primary.pid!);
  const before = workers.map(socketCount);
  while (open.length < 60 && (open.length < 6 || workers.some((pid, i) => socketCount(pid) <= before[i]!))) open.push(await openSse(url));
  assert.ok(workers.every((pid, i) => socketCount(pid) > before[i]!), 'each worker accepted streams');
  for (const s of open) await s.next((e) => e.event === 'snapshot');
  await publishPartial(redis, partial(survey.id, 0, 11, { responses: 11, votes: { [survey.questions[0]!.id]: { [survey.questions[0]!.options[0]!.id]: 11 } } }));
  await Promise.all(open.map((s) => s.next((e) => e.event === 'snapshot' && e.id === '11', 10_000)));
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, new RegExp(`^tally_sse_clients\\{[^}]*\\} ${open.length}$`, 'm'), 'clients of both workers, summed');
  const snapshotsSent = Number(/^tally_snapshots_sent_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
  assert.equal(snapshotsSent, 2, 'each worker published the new snapshot once for its own clients');
});

test('a worker killed with SIGKILL is replaced; its clients reconnect to the cluster', async () => {
  // This test's own partial (partition 1), so what the reconnected client must see does not depend
  // on the test before.
  await publishPartial(redis, partial(survey.id, 1, 5, { responses: 5 }));
  const [victim] = childPids(primary.pid!);
  process.kill(victim!, 'SIGKILL');
  await waitFor(() => childPids(primary.pid!).length === 2 && !childPids(primary.pid!).includes(victim!), { timeoutMs: 20_000, what: 'a replacement worker' });
  await waitFor(() => logLines.filter((line) => line.msg === 'broadcast listening').length === 3, { timeoutMs: 20_000, what: 'the replacement to log that it listens' });
  const s = await openSse(`http://127.0.0.1:${port}/v1/surveys/${survey.id}/results/stream`);
  open.push(s);
  const snapshot = snapshotOf(await s.next((e) => e.event === 'snapshot' && snapshotOf(e).watermark['1'] === '5', 10_000));
  assert.equal(snapshot.survey.id, survey.id, 'the current snapshot, partials from Redis included');
});
