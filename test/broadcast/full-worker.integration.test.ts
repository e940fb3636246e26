// Integration: PostgreSQL, Redis
// A cluster worker that is full stops accepting while a sibling accepts (src/role-cluster.ts,
// clusterAcceptGate), so clients reach the process with room instead of getting 503; only when
// every process is full does the last one answer 503; a worker with room again accepts again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { testConfig } from '../support/test-config.js';
import { waitFor } from '../support/wait.js';
import { startBroadcastCli, type BroadcastCli } from './support/broadcast-cli.js';
import { openSse, type SseStream } from './support/sse-client.js';
import { createSurvey, deleteSurvey, type CreatedSurvey } from './support/survey-fixtures.js';

const CAP = 3;
const config = testConfig('broadcast-full-worker');
const pool = createPool(config.postgres.url, 2);
const redis = new Redis(config.redisUrl);
let survey: CreatedSurvey;
let cli: BroadcastCli;
const open: SseStream[] = [];

before(async () => {
  survey = await createSurvey(pool, 'Full worker test', [{ title: 'Pick one', options: ['A', 'B'] }]);
  // Two workers (target 32,000) of CAP streams each.
  cli = await startBroadcastCli({ TALLY_BROADCAST_TARGET_CLIENTS: '32000', TALLY_SSE_MAX_CONNECTIONS: String(CAP), TALLY_WINDOW_MS: '200' });
});

after(async () => {
  for (const s of open) s.close();
  await cli.stop();
  await deleteSurvey(pool, redis, survey.id);
  await pool.end();
  redis.disconnect();
});

const gauge = async (name: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${cli.port}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
};

async function fill(): Promise<void> {
  const url = `http://127.0.0.1:${cli.port}/v1/surveys/${survey.id}/results/stream`;
  // One at a time: a stream's answer comes after its worker, if that made it full, stopped accepting.
  for (let i = 0; i < 2 * CAP; i += 1) {
    const stream = await openSse(url);
    open.push(stream);
    assert.equal(stream.status, 200, `stream ${i + 1} of ${2 * CAP}: ${stream.body}`);
    await stream.next((e) => e.event === 'snapshot');
  }
  assert.equal(await gauge('tally_sse_clients'), 2 * CAP);
  assert.equal(await gauge('tally_sse_accepting'), 1, 'one worker paused; the last one keeps accepting (and refusing)');
  const refused = await openSse(url);
  assert.equal(refused.status, 503, 'every worker is full');
  assert.equal((JSON.parse(refused.body) as { code: string }).code, 'TALLY_ERR_SSE_CAPACITY');
}

test('streams fill every worker before any 503: a full worker stops accepting while its sibling has room', async () => {
  await fill();
});

test('workers with room again accept again', async () => {
  for (const s of open.splice(0)) s.close();
  await waitFor(async () => (await gauge('tally_sse_clients')) === 0 && (await gauge('tally_sse_accepting')) === 2, { timeoutMs: 20_000, what: 'both workers accepting again' });
  await fill();
});
