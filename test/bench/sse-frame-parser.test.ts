import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseFrameParser } from '../../bench/sse/sse-frame-parser.js';

interface Seen {
  ids: string[];
  generatedAt: number[];
  status: number;
  ended: boolean;
}

function parserFor(seen: Seen): SseFrameParser {
  return new SseFrameParser({
    onEvent: (idHash, generatedAt, parser) => {
      seen.ids.push(idHash === 0 ? '' : parser.idText());
      seen.generatedAt.push(generatedAt);
    },
    onHeaders: (status) => {
      seen.status = status;
    },
    onEnd: () => {
      seen.ended = true;
    },
  });
}

function chunked(...writes: string[]): string {
  return writes.map((w) => `${Buffer.byteLength(w).toString(16)}\r\n${w}\r\n`).join('');
}

const HEAD_CHUNKED = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const EVENTS = [
  'retry: 3000\n\n',
  ': heartbeat\n\n',
  'id: 17\nevent: snapshot\ndata: {"surveyId":"s1","generatedAt":1700000000123,"totals":{"responses":5}}\n\n',
  'id: s1:18\r\ndata: {"generatedAt": 1700000000999,"surveyId":"s1"}\r\n\r\n',
  'id: 19\ndata: {"no":"timestamp"}\n\n',
];

function feedSplit(text: string, cuts: number[]): Seen {
  const seen: Seen = { ids: [], generatedAt: [], status: 0, ended: false };
  const parser = parserFor(seen);
  const bytes = Buffer.from(text);
  let last = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.feed(bytes.subarray(last, cut));
    last = cut;
  }
  return seen;
}

test('SSE parser: ids and generatedAt from a chunked response, in one read', () => {
  const seen = feedSplit(HEAD_CHUNKED + chunked(...EVENTS) + '0\r\n\r\n', []);
  assert.equal(seen.status, 200);
  assert.deepEqual(seen.ids, ['17', 's1:18', '19']);
  assert.equal(seen.generatedAt[0], 1700000000123);
  assert.equal(seen.generatedAt[1], 1700000000999);
  assert.ok(Number.isNaN(seen.generatedAt[2]!));
  assert.equal(seen.ended, true);
});

test('SSE parser: every split point of the stream gives the same events', () => {
  const text = HEAD_CHUNKED + chunked(...EVENTS);
  const whole = feedSplit(text, []);
  for (let cut = 1; cut < Buffer.byteLength(text); cut++) {
    const split = feedSplit(text, [cut]);
    assert.deepEqual(split.ids, whole.ids, `split at ${cut}`);
    assert.deepEqual(split.generatedAt, whole.generatedAt, `split at ${cut}`);
  }
  // And byte by byte.
  const bytes = Array.from({ length: Buffer.byteLength(text) - 1 }, (_, i) => i + 1);
  assert.deepEqual(feedSplit(text, bytes).ids, whole.ids);
  assert.deepEqual(feedSplit(text, bytes).generatedAt, whole.generatedAt);
});

test('SSE parser: a chunk boundary inside an event (one event over several writes)', () => {
  const event = 'id: 42\ndata: {"generatedAt":1234567,"big":"' + 'x'.repeat(3000) + '"}\n\n';
  const text = HEAD_CHUNKED + chunked(event.slice(0, 20), event.slice(20, 1000), event.slice(1000));
  for (const cuts of [[], [50], [HEAD_CHUNKED.length + 30, HEAD_CHUNKED.length + 33]]) {
    const seen = feedSplit(text, cuts);
    assert.deepEqual(seen.ids, ['42']);
    assert.deepEqual(seen.generatedAt, [1234567]);
  }
});

test('SSE parser: a response without chunked framing, and a non-200 status', () => {
  const plain = feedSplit('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n' + EVENTS.join(''), [60]);
  assert.deepEqual(plain.ids, ['17', 's1:18', '19']);
  const refused = feedSplit('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n{}', []);
  assert.equal(refused.status, 503);
});

test('SSE parser: the event id hash is stable and differs between ids', () => {
  const hashes: number[] = [];
  const parser = new SseFrameParser({ onEvent: (idHash) => hashes.push(idHash) });
  parser.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\nid: 1\n\nid: 2\n\nid: 1\n\n'));
  assert.equal(hashes.length, 3);
  assert.notEqual(hashes[0], hashes[1]);
  assert.equal(hashes[0], hashes[2]);
});
