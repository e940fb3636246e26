import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstSnapshotContaining, type ObservedSnapshot } from '../../bench/e2e/visibility.js';
import { EventStreamParser, type ServerSentEvent } from '../../bench/sse/event-source-client.js';

const snap = (id: number, watermark: Record<string, string>): ObservedSnapshot => ({ snapshotId: String(id), generatedAt: id, receivedAt: id, watermark });

test('visibility: the first snapshot whose watermark passes the vote offset', () => {
  const snapshots = [snap(1, { '0': '5' }), snap(2, { '0': '5', '1': '3' }), snap(3, { '0': '9', '1': '3' }), snap(4, { '0': '12', '1': '8' })];
  assert.equal(firstSnapshotContaining(snapshots, 0, 4), 0); // nextOffset 5 > offset 4
  assert.equal(firstSnapshotContaining(snapshots, 0, 5), 2);
  assert.equal(firstSnapshotContaining(snapshots, 1, 0), 1); // partition absent before: not visible
  assert.equal(firstSnapshotContaining(snapshots, 1, 7), 3);
  assert.equal(firstSnapshotContaining(snapshots, 1, 8), -1);
  assert.equal(firstSnapshotContaining([], 0, 0), -1);
});

test('standard event-stream parser: fields, multi-line data, CR/LF/CRLF, comments, ids', () => {
  const events: ServerSentEvent[] = [];
  const parser = new EventStreamParser((event) => events.push(event));
  const stream = 'retry: 2500\n: comment\n\nid: 7\nevent: snapshot\ndata: {"a":1}\n\ndata: line1\r\ndata: line2\r\n\r\nid: 8\rdata:x\r\r';
  // Fed in awkward pieces, including a CRLF split between two chunks.
  for (const piece of [stream.slice(0, 10), stream.slice(10, 66), stream.slice(66, 67), stream.slice(67)]) parser.feed(piece);
  assert.deepEqual(
    events.map((e) => [e.type, e.data, e.lastEventId]),
    [
      ['snapshot', '{"a":1}', '7'],
      ['message', 'line1\nline2', '7'],
      ['message', 'x', '8'],
    ],
  );
  assert.equal(parser.retryMs, 2500);
});
