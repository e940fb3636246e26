// Integration: PostgreSQL, Redis
// A client that stops reading skips snapshots instead of queueing them, does not
// delay the other clients, and is dropped with reason "slow" once it stays behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { startBroadcastServer, type RunningBroadcastServer } from '../../src/broadcast/broadcast-server.js';
import { MAX_SKIPPED_WINDOWS } from '../../src/broadcast/subscriber.js';
import type { RegionTally } from '../../src/partition-tally.js';
import { testConfig } from '../support/test-config.js';
import { openSse, snapshotOf, type SseStream } from './support/sse-client.js';
import { createSurvey, deleteSurvey, partial, publishPartial, type CreatedSurvey } from './support/survey-fixtures.js';

const WINDOW_MS = 100;
const config = testConfig('broadcast-slow', { TALLY_WINDOW_MS: String(WINDOW_MS), TALLY_SSE_SLOW_BYTES: '65536' });
const pool = createPool(config.postgres.url, 2);
const redis = new Redis(config.redisUrl);
let server: RunningBroadcastServer;
let survey: CreatedSurvey;

before(async () => {
  survey = await createSurvey(pool, 'Slow client test', [{ title: 'Pick one', options: ['A', 'B'] }]);
  server = await startBroadcastServer(config);
});

after(async () => {
  await server.close();
  await deleteSurvey(pool, redis, survey.id);
  await pool.end();
  redis.disconnect();
});

/** A stream client that sends its request and never reads a byte. */
function stalledClient(port: number, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

const metric = (text: string, name: string, labels = ''): number =>
  Number(new RegExp(`^${name}\\{${labels}[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);

test('a stalled client skips snapshots, the others keep getting each one within a window, then it is dropped as slow', async (t) => {
  const path = `/v1/surveys/${survey.id}/results/stream`;
  const q = survey.questions[0]!;
  const fast: SseStream[] = await Promise.all([1, 2, 3].map(() => openSse(`http://127.0.0.1:${server.port}${path}`)));
  const stalled = await stalledClient(server.port, path);
  let stalledClosed = false;
  stalled.on('close', () => (stalledClosed = true));
  stalled.on('error', () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(server.hub.size, 4);

  // ~400 KB snapshots, one per window: the stalled client's kernel buffers fill within a few
  // windows, after which its socket queue grows past TALLY_SSE_SLOW_BYTES.
  const regions: Record<string, RegionTally> = {};
  for (let i = 0; i < 4000; i += 1) regions[`region-${i.toString().padStart(5, '0')}`] = { responses: i, votes: { [q.id]: { [q.options[0]!.id]: i } } };
  let offset = 0;
  let lateness = 0;
  const deadline = Date.now() + 20_000;
  while (server.hub.size === 4 && Date.now() < deadline) {
    offset += 1;
    await publishPartial(redis, partial(survey.id, 0, offset, { responses: offset, regions }));
    const expected = String(offset);
    const arrivals = await Promise.all(fast.map((s) => s.next((e) => e.event === 'snapshot' && e.id === expected, 10 * WINDOW_MS)));
    for (const event of arrivals) lateness = Math.max(lateness, event.receivedAt - snapshotOf(event).generatedAt);
  }
  t.diagnostic(`dropped after ${offset} snapshots; fast clients at most ${lateness} ms after window close`);
  const text = await server.metrics.metrics();
  assert.equal(server.hub.size, 3, 'the stalled client was dropped');
  assert.equal(metric(text, 'tally_sse_clients_dropped_total', 'reason="slow"'), 1);
  assert.ok(metric(text, 'tally_snapshot_deliveries_total', 'outcome="skipped"') >= MAX_SKIPPED_WINDOWS, 'it skipped windows before being dropped');
  assert.ok(offset > MAX_SKIPPED_WINDOWS, `took ${offset} snapshots`);
  assert.ok(lateness < 5 * WINDOW_MS, `fast clients received every snapshot, at most ${lateness} ms after its window closed`);
  // The stalled client, once it reads again, finds its connection closed.
  stalled.resume();
  await new Promise<void>((resolve) => (stalledClosed ? resolve() : stalled.on('close', () => resolve())));
  for (const s of fast) s.close();
});
