// Integration: PostgreSQL, Redis
// The SSE stream against real Redis and PostgreSQL. Partials are written with the
// aggregator's own Lua script (the contract), read back by a raw HTTP client parsing SSE frames.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { UPDATES_CHANNEL } from '../../src/partition-tally.js';
import { startBroadcastServer, type RunningBroadcastServer } from '../../src/broadcast/broadcast-server.js';
import type { SurveySnapshot } from '../../src/broadcast/snapshot.js';
import { testConfig } from '../support/test-config.js';
import { openSse, snapshotOf, type SseEvent, type SseStream } from './support/sse-client.js';
import { createSurvey, deleteSurvey, partial, publishPartial, type CreatedSurvey } from './support/survey-fixtures.js';

const WINDOW_MS = 200;
const config = testConfig('broadcast-stream', { TALLY_WINDOW_MS: String(WINDOW_MS), TALLY_SSE_HEARTBEAT_MS: '300' });
const pool = createPool(config.postgres.url, 2);
const redis = new Redis(config.redisUrl);
let server: RunningBroadcastServer;
let survey: CreatedSurvey;
let streamUrl: string;
const open: SseStream[] = [];

const isSnapshot = (event: SseEvent) => event.event === 'snapshot';
async function stream(headers?: Record<string, string>): Promise<SseStream> {
  const s = await openSse(streamUrl, { headers });
  open.push(s);
  return s;
}

before(async () => {
  survey = await createSurvey(pool, 'Stream test', [{ title: 'Pick one', options: ['Red', 'Blue'] }]);
  server = await startBroadcastServer(config);
  streamUrl = `http://127.0.0.1:${server.port}/v1/surveys/${survey.id}/results/stream`;
});

after(async () => {
  for (const s of open) s.close();
  await server.close();
  await deleteSurvey(pool, redis, survey.id);
  await pool.end();
  redis.disconnect();
});

test('a new subscriber gets headers, a retry hint and the current snapshot at once', async () => {
  const started = Date.now();
  const s = await stream();
  assert.equal(s.status, 200);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  assert.equal(s.headers['transfer-encoding'], undefined, 'frames are written unchunked');
  const retry = await s.next((event) => event.retry !== undefined);
  assert.ok(retry.retry! > 0);
  const first = await s.next(isSnapshot);
  const snapshot = snapshotOf(first);
  assert.equal(first.id, '0', 'no partial yet: watermark sum 0');
  assert.equal(snapshot.survey.id, survey.id);
  assert.equal(snapshot.survey.title, 'Stream test');
  assert.deepEqual(
    snapshot.questions.map((q) => ({ title: q.title, options: q.options.map((o) => [o.text, o.votes]) })),
    [{ title: 'Pick one', options: [['Red', 0], ['Blue', 0]] }],
  );
  assert.ok(first.receivedAt - started < WINDOW_MS, 'sent on connect, not at the next window');
});

test('partials in → one snapshot on the stream within the window, sums over partitions', async () => {
  const s = await stream();
  await s.next(isSnapshot);
  const q = survey.questions[0]!;
  const [red, blue] = q.options;
  const published = Date.now();
  // A burst of writes inside one window: at most one snapshot per window, carrying the newest state.
  for (let offset = 1; offset <= 5; offset += 1) {
    await publishPartial(redis, partial(survey.id, 0, offset * 10, { responses: offset, votes: { [q.id]: { [red!.id]: offset } }, lastCastAt: published }));
  }
  await publishPartial(redis, partial(survey.id, 3, 7, { responses: 2, votes: { [q.id]: { [red!.id]: 1, [blue!.id]: 1 } }, lastCastAt: published }));
  const event = await s.next((e) => isSnapshot(e) && e.id === '57', 4 * WINDOW_MS);
  assert.ok(event.receivedAt - published < 2 * WINDOW_MS + 300, `arrived ${event.receivedAt - published} ms after the partials`);
  const snapshot = snapshotOf(event);
  assert.equal(snapshot.totalResponses, 7);
  assert.deepEqual(snapshot.questions[0]!.options.map((o) => o.votes), [6, 1]);
  assert.deepEqual(snapshot.watermark, { '0': '50', '3': '7' });
  assert.equal(snapshot.snapshotId, '57');
  // Each snapshot belongs to its own window.
  const windows = s.events.filter(isSnapshot).slice(1).map((e) => Math.floor(snapshotOf(e).generatedAt / WINDOW_MS));
  assert.equal(new Set(windows).size, windows.length, `one snapshot per window: ${windows}`);
});

test('an unchanged survey sends no snapshot, only heartbeat comments', async () => {
  const s = await stream();
  await s.next(isSnapshot);
  await new Promise((resolve) => setTimeout(resolve, 5 * WINDOW_MS));
  assert.equal(s.events.filter(isSnapshot).length, 1, 'only the snapshot sent on connect');
  assert.ok(s.events.some((e) => e.comments.includes('heartbeat')), 'a heartbeat comment while idle');
});

test('a partial that is not newer than the one held changes nothing', async () => {
  const s = await stream();
  const before = snapshotOf<SurveySnapshot>(await s.next(isSnapshot));
  // Published directly on the channel, bypassing the Lua guard (as a late or zombie writer could).
  await redis.publish(UPDATES_CHANNEL, JSON.stringify(partial(survey.id, 0, 20, { responses: 999 })));
  await new Promise((resolve) => setTimeout(resolve, 3 * WINDOW_MS));
  assert.equal(s.events.filter(isSnapshot).length, 1);
  const json = (await (await fetch(`http://127.0.0.1:${server.port}/v1/surveys/${survey.id}/results`)).json()) as SurveySnapshot;
  assert.equal(json.totalResponses, before.totalResponses);
  assert.equal(json.snapshotId, before.snapshotId);
});

test('a reconnect with Last-Event-ID gets the current snapshot at once', async () => {
  const first = await stream();
  const current = await first.next(isSnapshot);
  first.close();
  const started = Date.now();
  const again = await stream({ 'Last-Event-ID': current.id! });
  const event = await again.next(isSnapshot, WINDOW_MS);
  assert.equal(event.id, current.id);
  assert.equal(event.data, current.data, 'the very same bytes as the current snapshot');
  assert.ok(event.receivedAt - started < WINDOW_MS);
});

test('an unknown survey is a 404 with a code', async () => {
  const s = await openSse(`http://127.0.0.1:${server.port}/v1/surveys/999999999999/results/stream`);
  assert.equal(s.status, 404);
  assert.equal(JSON.parse(s.body).code, 'TALLY_ERR_SURVEY_NOT_FOUND');
  const bad = await openSse(`http://127.0.0.1:${server.port}/v1/surveys/abc/results/stream`);
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.body).code, 'TALLY_ERR_VALIDATION');
});

test('metrics count clients, snapshots and fan-out time', async () => {
  const text = await server.metrics.metrics();
  const clients = Number(/^tally_sse_clients\{[^}]*\} (\d+)/m.exec(text)?.[1]);
  assert.equal(clients, open.filter((s) => s.status === 200).length - 1, 'every open stream but the closed one');
  assert.match(text, /^tally_snapshots_sent_total\{[^}]*\} [1-9]/m);
  assert.match(text, /^tally_snapshot_fanout_duration_seconds_count\{[^}]*\} [1-9]/m);
  assert.match(text, /^tally_vote_to_snapshot_seconds_count\{[^}]*\} [1-9]/m);
});
