// Unit: the local fan-out. Heartbeats go only to subscribers of surveys that broadcast nothing
// lately, and a subscriber with unsent bytes skips snapshots instead of queueing them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBroadcastMetrics } from '../../src/broadcast/broadcast-metrics.js';
import { Hub } from '../../src/broadcast/hub.js';
import { snapshotFrame, HEARTBEAT_FRAME, type SnapshotFrame } from '../../src/broadcast/sse-frame.js';
import { buildSnapshot } from '../../src/broadcast/snapshot.js';
import { Subscriber } from '../../src/broadcast/subscriber.js';
import type { SubscriberTransport } from '../../src/broadcast/subscriber-transport.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { partial } from './support/survey-fixtures.js';

/** Records what a client would have been sent. */
class RecordingTransport implements SubscriberTransport {
  pendingBytes = 0;
  readonly batchFd = -1;
  readonly sent: Buffer[] = [];
  finishBatchWrite(): void {}
  sendSnapshot(frame: SnapshotFrame): void {
    this.sent.push(frame.bytes);
  }
  sendHeartbeat(): void {
    this.sent.push(HEARTBEAT_FRAME);
  }
  sendGoodbyeAndEnd(): void {}
  destroy(): void {}
}

function frameOf(surveyId: string, offset: number): SnapshotFrame {
  const metadata = { id: surveyId, title: 'T', status: 'published', questions: [] };
  return snapshotFrame(buildSnapshot(metadata, [partial(surveyId, 0, offset)], Date.now()));
}

function setup() {
  const hub = new Hub(createBroadcastMetrics(createMetricsRegistry('broadcast'), () => 0), createLogger('broadcast', { logLevel: 'silent' }));
  const join = (surveyId: string) => {
    const transport = new RecordingTransport();
    hub.join(new Subscriber(surveyId, '127.0.0.1', transport, 1024), frameOf(surveyId, 0));
    return transport;
  };
  return { hub, join };
}

const heartbeats = (t: RecordingTransport) => t.sent.filter((b) => b === HEARTBEAT_FRAME).length;

test('heartbeats skip surveys that broadcast since the quiet point, and reach the others', () => {
  const { hub, join } = setup();
  const busy = [join('1'), join('1')];
  const quiet = join('2');
  hub.broadcast('1', frameOf('1', 5));
  hub.heartbeat(Date.now() - 15_000);
  assert.deepEqual(busy.map(heartbeats), [0, 0], 'a snapshot went out within the heartbeat period');
  assert.equal(heartbeats(quiet), 1, 'nothing was broadcast to survey 2');
  hub.heartbeat(Date.now() + 1);
  assert.deepEqual(busy.map(heartbeats), [1, 1], 'quiet since the last broadcast: heartbeat again');
  assert.equal(heartbeats(quiet), 2);
});

test('a subscriber holding unsent bytes gets neither heartbeats nor snapshots; dropped after 5 skips', () => {
  const { hub, join } = setup();
  const slow = join('1');
  const fine = join('1');
  slow.pendingBytes = 4096;
  hub.heartbeat(Date.now() + 1);
  assert.equal(heartbeats(slow), 0);
  assert.equal(heartbeats(fine), 1);
  const results = [1, 2, 3, 4, 5].map((offset) => hub.broadcast('1', frameOf('1', offset)));
  assert.deepEqual(results.map((r) => [r.written, r.skipped, r.dropped]), [[1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1]]);
  assert.equal(hub.subscriberCount('1'), 1, 'the slow one was dropped');
  assert.equal(slow.sent.length, 1, 'only the snapshot it got on joining');
});

test('members leave in any order, also while a broadcast walks them; the others get each snapshot exactly once', () => {
  const hub = new Hub(createBroadcastMetrics(createMetricsRegistry('broadcast'), () => 0), createLogger('broadcast', { logLevel: 'silent' }));
  const subscribers = Array.from({ length: 10 }, () => new Subscriber('1', '127.0.0.1', new RecordingTransport(), 1024));
  for (const subscriber of subscribers) hub.join(subscriber, frameOf('1', 0));
  hub.leave(subscribers[3]!);
  hub.leave(subscribers[9]!);
  hub.leave(subscribers[3]!); // idempotent
  // A write that makes another member leave (as a synchronous 'close' would) mid-walk.
  const leaver = subscribers[0]!.transport as RecordingTransport;
  leaver.sendSnapshot = (frame) => {
    leaver.sent.push(frame.bytes);
    hub.leave(subscribers[5]!);
    hub.leave(subscribers[0]!);
  };
  const result = hub.broadcast('1', frameOf('1', 1));
  assert.equal(result.written, 8);
  assert.equal(hub.size, 6);
  assert.equal(hub.subscriberCount('1'), 6);
  const second = hub.broadcast('1', frameOf('1', 2));
  assert.equal(second.written, 6);
  const sent = subscribers.map((s) => (s.transport as RecordingTransport).sent.length);
  assert.deepEqual(sent, [2, 3, 3, 1, 3, 2, 3, 3, 3, 1]);
  for (const s of [...subscribers]) hub.leave(s);
  assert.equal(hub.size, 0);
  assert.equal(hub.subscriberCount('1'), 0);
});
