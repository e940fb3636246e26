// Integration: PostgreSQL, Redis
// A client that stops reading skips snapshots instead of queueing them, the other clients still
// get every snapshot, and it is dropped with reason "slow" once it stays behind, told so by an
// `event: dropped` before the close. (How late the
// others are is measured by `npm run bench -- fanout`, not asserted here.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { DROPPED_SLOW_FRAME } from '../../src/broadcast/sse-frame.js';
import { MAX_SKIPPED_WINDOWS } from '../../src/broadcast/subscriber.js';
import type { RegionTally } from '../../src/partition-tally.js';
import { waitFor, within } from '../support/wait.js';
import { broadcastFixture } from './support/broadcast-fixture.js';
import { snapshotOf } from './support/sse-client.js';
import { partial, publishPartial } from './support/survey-fixtures.js';

const WINDOW_MS = 100;
const fx = broadcastFixture('broadcast-slow', { TALLY_WINDOW_MS: String(WINDOW_MS), TALLY_SSE_SLOW_BYTES: '65536' });

before(() => fx.setUp('Slow client test', [{ title: 'Pick one', options: ['A', 'B'] }]));
after(() => fx.tearDown());

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

test('a stalled client skips snapshots, the others keep getting every one, then it is dropped as slow and told why', async (t) => {
  const { server, survey, redis } = fx;
  const q = survey.questions[0]!;
  const fast = await Promise.all([1, 2, 3].map(() => fx.openStream()));
  const stalled = await stalledClient(server.port, fx.streamPath);
  const stalledClosed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
  stalled.on('error', () => undefined);
  await waitFor(() => server.hub.size === 4, { timeoutMs: 10_000, what: 'the 3 fast clients and the stalled one in the hub' });

  // ~400 KB snapshots, one per window: the stalled client's kernel buffers fill within a few
  // windows, after which its socket queue grows past TALLY_SSE_SLOW_BYTES.
  const regions: Record<string, RegionTally> = {};
  for (let i = 0; i < 4000; i += 1) regions[`region-${i.toString().padStart(5, '0')}`] = { responses: i, votes: { [q.id]: { [q.options[0]!.id]: i } } };
  let offset = 0;
  let lateness = 0;
  const deadline = Date.now() + 60_000; // bounds a failure: the drop comes after a few windows
  while (server.hub.size === 4 && Date.now() < deadline) {
    offset += 1;
    await publishPartial(redis, partial(survey.id, 0, offset, { responses: offset, regions }));
    const expected = String(offset);
    const arrivals = await Promise.all(fast.map((s) => s.next((e) => e.event === 'snapshot' && e.id === expected, 10_000)));
    for (const event of arrivals) lateness = Math.max(lateness, event.receivedAt - snapshotOf(event).generatedAt);
  }
  t.diagnostic(`dropped after ${offset} snapshots; fast clients at most ${lateness} ms after window close`);
  const text = await server.metrics.metrics();
  assert.equal(server.hub.size, 3, `the stalled client was dropped (after ${offset} snapshots)`);
  assert.equal(metric(text, 'tally_sse_clients_dropped_total', 'reason="slow"'), 1);
  assert.ok(metric(text, 'tally_snapshot_deliveries_total', 'outcome="skipped"') >= MAX_SKIPPED_WINDOWS, 'it skipped windows before being dropped');
  assert.ok(offset > MAX_SKIPPED_WINDOWS, `took ${offset} snapshots`);
  // How late the fast clients were is a figure for bench/ (`npm run bench -- fanout`), not an
  // assertion: on a loaded machine any bound is either flaky or meaningless. What holds whatever
  // the load: each fast client received every snapshot (awaited above, id by id).
  // The stalled client, once it reads again, reads what was queued for it, then why it is dropped
  // (the last event), then the end of the stream.
  let tail = Buffer.alloc(0);
  stalled.on('data', (chunk: Buffer) => (tail = Buffer.concat([tail, chunk]).subarray(-DROPPED_SLOW_FRAME.length - 2)));
  const ended = new Promise<void>((resolve) => stalled.once('end', () => resolve()));
  stalled.resume();
  await within(ended, { timeoutMs: 10_000, what: 'the stalled client to read to the end of its stream' });
  await within(stalledClosed, { timeoutMs: 10_000, what: 'the stalled client to find its connection closed' });
  const ending = tail.toString('utf8');
  assert.ok(ending.endsWith(`\n\n${DROPPED_SLOW_FRAME.toString('utf8')}`), `the stream ends with the reason as its own event: ${JSON.stringify(ending)}`);
  assert.match(DROPPED_SLOW_FRAME.toString('utf8'), /^event: dropped\ndata: \{"reason":"slow"\}\nretry: \d+\n\n$/);
});
