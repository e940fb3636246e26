// Integration: PostgreSQL, Redis
// The SSE stream against real Redis and PostgreSQL. Partials are written with the aggregator's own
// Lua script (the contract), read back by a raw HTTP client parsing SSE frames. Each test has its
// own survey and server (test order does not matter); no assertion reads the wall clock: "at once"
// is shown with a window far longer than any wait, "nothing sent" with a later window that did
// send something else.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { UPDATES_CHANNEL } from '../../src/partition-tally.js';
import type { SurveySnapshot } from '../../src/broadcast/snapshot.js';
import { waitFor } from '../support/wait.js';
import { broadcastFixture, type BroadcastFixture } from './support/broadcast-fixture.js';
import { openSse, snapshotOf, type SseEvent } from './support/sse-client.js';
import { partial, publishPartial } from './support/survey-fixtures.js';

const WINDOW_MS = 200;
/** A window no test waits for: a snapshot seen with it was sent on connect. */
const LONG_WINDOW_MS = 600_000;
/** How long a test waits for an event that should come within a window or two (bounds a failure only). */
const EVENT_WAIT_MS = 10_000;
const QUESTIONS = [{ title: 'Pick one', options: ['Red', 'Blue'] }];

const isSnapshot = (event: SseEvent) => event.event === 'snapshot';

async function streamFixture(t: TestContext, windowMs = WINDOW_MS): Promise<BroadcastFixture> {
  const fx = broadcastFixture('broadcast-stream', { TALLY_WINDOW_MS: String(windowMs), TALLY_SSE_HEARTBEAT_MS: '300' });
  t.after(() => fx.tearDown());
  await fx.setUp('Stream test', QUESTIONS);
  return fx;
}

/** A second survey whose snapshots prove that a window closed after the moment it was changed. */
async function windowClock(fx: BroadcastFixture): Promise<{ tick(): Promise<void> }> {
  const clock = await fx.addSurvey('Window clock', QUESTIONS);
  const stream = await fx.openStream({ path: `/v1/surveys/${clock.id}/results/stream` });
  await stream.next(isSnapshot);
  let offset = 0;
  return {
    /** Changes the clock survey and waits for the snapshot of the window that carries the change. */
    async tick() {
      offset += 1;
      await publishPartial(fx.redis, partial(clock.id, 0, offset, { responses: offset }));
      await stream.next((e) => isSnapshot(e) && e.id === String(offset), EVENT_WAIT_MS);
    },
  };
}

test('a new subscriber gets headers, a retry hint and the current snapshot at once', async (t) => {
  const fx = await streamFixture(t, LONG_WINDOW_MS);
  const s = await fx.openStream();
  assert.equal(s.status, 200);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  assert.equal(s.headers['transfer-encoding'], undefined, 'frames are written unchunked');
  const retry = await s.next((event) => event.retry !== undefined);
  assert.ok(retry.retry! > 0);
  // The next window closes up to 10 minutes from now: a snapshot within the wait was sent on connect.
  const first = await s.next(isSnapshot, EVENT_WAIT_MS);
  const snapshot = snapshotOf(first);
  assert.equal(first.id, '0', 'no partial yet: watermark sum 0');
  assert.equal(snapshot.survey.id, fx.survey.id);
  assert.equal(snapshot.survey.title, 'Stream test');
  assert.deepEqual(
    snapshot.questions.map((q) => ({ title: q.title, options: q.options.map((o) => [o.text, o.votes]) })),
    [{ title: 'Pick one', options: [['Red', 0], ['Blue', 0]] }],
  );
});

test('partials in → one snapshot on the stream within the window, sums over partitions', async (t) => {
  const fx = await streamFixture(t);
  const s = await fx.openStream();
  await s.next(isSnapshot);
  const q = fx.survey.questions[0]!;
  const [red, blue] = q.options;
  const published = Date.now();
  // A burst of writes inside one window: at most one snapshot per window, carrying the newest state.
  for (let offset = 1; offset <= 5; offset += 1) {
    await publishPartial(fx.redis, partial(fx.survey.id, 0, offset * 10, { responses: offset, votes: { [q.id]: { [red!.id]: offset } }, lastCastAt: published }));
  }
  await publishPartial(fx.redis, partial(fx.survey.id, 3, 7, { responses: 2, votes: { [q.id]: { [red!.id]: 1, [blue!.id]: 1 } }, lastCastAt: published }));
  const event = await s.next((e) => isSnapshot(e) && e.id === '57', EVENT_WAIT_MS);
  t.diagnostic(`arrived ${event.receivedAt - published} ms after the partials (window ${WINDOW_MS} ms)`);
  const snapshot = snapshotOf(event);
  assert.equal(snapshot.totalResponses, 7);
  assert.deepEqual(snapshot.questions[0]!.options.map((o) => o.votes), [6, 1]);
  assert.deepEqual(snapshot.watermark, { '0': '50', '3': '7' });
  assert.equal(snapshot.snapshotId, '57');
  // Each snapshot belongs to its own window.
  const windows = s.events.filter(isSnapshot).slice(1).map((e) => Math.floor(snapshotOf(e).generatedAt / WINDOW_MS));
  assert.equal(new Set(windows).size, windows.length, `one snapshot per window: ${windows}`);
});

test('an unchanged survey sends no snapshot, only heartbeat comments', async (t) => {
  const fx = await streamFixture(t);
  const clock = await windowClock(fx);
  const s = await fx.openStream();
  await s.next(isSnapshot);
  // Three windows closed while this survey was connected and unchanged (each carried a change of
  // the clock survey), and a heartbeat (every 300 ms) came in meanwhile.
  for (let i = 0; i < 3; i += 1) await clock.tick();
  await waitFor(() => s.events.some((e) => e.comments.includes('heartbeat')), { timeoutMs: EVENT_WAIT_MS, what: 'a heartbeat comment on the idle stream' });
  assert.equal(s.events.filter(isSnapshot).length, 1, 'only the snapshot sent on connect');
});

test('a partial that is not newer than the one held changes nothing', async (t) => {
  const fx = await streamFixture(t);
  const q = fx.survey.questions[0]!;
  const red = q.options[0]!;
  const s = await fx.openStream();
  await s.next(isSnapshot);
  await publishPartial(fx.redis, partial(fx.survey.id, 0, 50, { responses: 5, votes: { [q.id]: { [red.id]: 5 } } }));
  const held = snapshotOf<SurveySnapshot>(await s.next((e) => isSnapshot(e) && e.id === '50', EVENT_WAIT_MS));
  // Published directly on the channel, bypassing the Lua guard (as a late or zombie writer could).
  await fx.redis.publish(UPDATES_CHANNEL, JSON.stringify(partial(fx.survey.id, 0, 20, { responses: 999 })));
  // Then a newer partial of another partition, through the guard. Redis delivers a channel's
  // messages in order, so the stale one was handled before it: the snapshot carrying this one
  // shows what the stale one did.
  await publishPartial(fx.redis, partial(fx.survey.id, 1, 3, { responses: 1, votes: { [q.id]: { [red.id]: 1 } } }));
  const after = snapshotOf<SurveySnapshot>(await s.next((e) => isSnapshot(e) && snapshotOf(e).watermark['1'] === '3', EVENT_WAIT_MS));
  assert.deepEqual(after.watermark, { '0': '50', '1': '3' }, 'partition 0 still at the partial held');
  assert.equal(after.totalResponses, held.totalResponses + 1);
  assert.ok(s.events.filter(isSnapshot).every((e) => snapshotOf<SurveySnapshot>(e).totalResponses < 999), 'no snapshot carried the stale partial');
  const json = (await (await fetch(fx.url(`/v1/surveys/${fx.survey.id}/results`))).json()) as SurveySnapshot;
  assert.equal(json.totalResponses, after.totalResponses);
  assert.equal(json.snapshotId, after.snapshotId);
});

test('a reconnect with Last-Event-ID gets the current snapshot at once', async (t) => {
  const fx = await streamFixture(t, LONG_WINDOW_MS);
  const first = await fx.openStream();
  const current = await first.next(isSnapshot);
  first.close();
  const again = await fx.openStream({ headers: { 'Last-Event-ID': current.id! } });
  // As above: with a 10-minute window, a snapshot within the wait was sent on (re)connect.
  const event = await again.next(isSnapshot, EVENT_WAIT_MS);
  assert.equal(event.id, current.id);
  assert.equal(event.data, current.data, 'the very same bytes as the current snapshot');
});

test('an unknown survey is a 404 with a code', async (t) => {
  const fx = await streamFixture(t);
  const s = await openSse(fx.url('/v1/surveys/999999999999/results/stream'));
  assert.equal(s.status, 404);
  assert.equal(JSON.parse(s.body).code, 'TALLY_ERR_SURVEY_NOT_FOUND');
  const bad = await openSse(fx.url('/v1/surveys/abc/results/stream'));
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.body).code, 'TALLY_ERR_VALIDATION');
});

test('metrics count clients, snapshots and fan-out time', async (t) => {
  const fx = await streamFixture(t);
  const metric = async (pattern: RegExp) => Number(pattern.exec(await fx.server.metrics.metrics())?.[1] ?? NaN);
  const clients = () => metric(/^tally_sse_clients\{[^}]*\} (\d+)/m);
  const streams = [await fx.openStream(), await fx.openStream(), await fx.openStream()];
  await Promise.all(streams.map((s) => s.next(isSnapshot)));
  assert.equal(await clients(), 3, 'every open stream');
  streams[0]!.close();
  await waitFor(
    async (seen) => {
      const count = await clients();
      seen(count);
      return count === 2;
    },
    { timeoutMs: EVENT_WAIT_MS, what: 'tally_sse_clients to count the closed stream out' },
  );

  const q = fx.survey.questions[0]!;
  await publishPartial(fx.redis, partial(fx.survey.id, 0, 1, { responses: 1, votes: { [q.id]: { [q.options[0]!.id]: 1 } }, lastCastAt: Date.now() }));
  await Promise.all(streams.slice(1).map((s) => s.next((e) => isSnapshot(e) && e.id === '1', EVENT_WAIT_MS)));
  assert.ok((await metric(/^tally_snapshots_sent_total\{[^}]*\} (\d+)/m)) >= 1);
  assert.ok((await metric(/^tally_snapshot_fanout_duration_seconds_count\{[^}]*\} (\d+)/m)) >= 1);
  assert.ok((await metric(/^tally_vote_to_snapshot_seconds_count\{[^}]*\} (\d+)/m)) >= 1);
});
