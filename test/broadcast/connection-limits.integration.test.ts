// Integration: PostgreSQL, Redis
// The per-IP and per-process caps on open streams refuse with a status, a code and
// Retry-After, and free their slot when a stream closes. Clients come from several 127.0.0.x addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { startBroadcastServer, type RunningBroadcastServer } from '../../src/broadcast/broadcast-server.js';
import { testConfig } from '../support/test-config.js';
import { openSse, type SseStream } from './support/sse-client.js';
import { createSurvey, deleteSurvey, type CreatedSurvey } from './support/survey-fixtures.js';

const config = testConfig('broadcast-limits', { TALLY_SSE_MAX_PER_IP: '2', TALLY_SSE_MAX_CONNECTIONS: '3' });
const pool = createPool(config.postgres.url, 2);
const redis = new Redis(config.redisUrl);
let server: RunningBroadcastServer;
let survey: CreatedSurvey;
const open: SseStream[] = [];

before(async () => {
  survey = await createSurvey(pool, 'Limits test', [{ title: 'Pick one', options: ['A', 'B'] }]);
  server = await startBroadcastServer(config);
});

after(async () => {
  for (const s of open) s.close();
  await server.close();
  await deleteSurvey(pool, redis, survey.id);
  await pool.end();
  redis.disconnect();
});

async function connect(localAddress: string): Promise<SseStream> {
  const s = await openSse(`http://127.0.0.1:${server.port}/v1/surveys/${survey.id}/results/stream`, { localAddress });
  open.push(s);
  return s;
}

test('the per-IP cap refuses with 429 TALLY_ERR_SSE_PER_IP and Retry-After', async () => {
  assert.equal((await connect('127.0.0.1')).status, 200);
  assert.equal((await connect('127.0.0.1')).status, 200);
  const refused = await connect('127.0.0.1');
  assert.equal(refused.status, 429);
  assert.equal(JSON.parse(refused.body).code, 'TALLY_ERR_SSE_PER_IP');
  assert.ok(Number(refused.headers['retry-after']) > 0);
});

test('the per-process cap refuses with 503 TALLY_ERR_SSE_CAPACITY and Retry-After; a closed stream frees its slot', async () => {
  assert.equal((await connect('127.0.0.2')).status, 200, 'another address still has room');
  const refused = await connect('127.0.0.3');
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.body).code, 'TALLY_ERR_SSE_CAPACITY');
  assert.ok(Number(refused.headers['retry-after']) > 0);

  const first = open[0]!;
  first.close();
  await first.closed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await connect('127.0.0.3')).status, 200);

  const text = await server.metrics.metrics();
  assert.match(text, /^tally_sse_connections_refused_total\{reason="per_ip"[^}]*\} 1$/m);
  assert.match(text, /^tally_sse_connections_refused_total\{reason="capacity"[^}]*\} 1$/m);
  assert.match(text, /^tally_sse_clients\{[^}]*\} 3$/m);
});
