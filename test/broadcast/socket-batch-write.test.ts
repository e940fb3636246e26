// The batch write path (socket-batch-write.ts, native/socket-batch-write.c) sends to sockets behind
// libuv's back: these tests pin, on real loopback TCP connections, what that relies on — the addon
// is built, a destroyed socket gives up its fd synchronously, a socket with queued bytes is never
// batched, and whatever a batch could not send goes through libuv in order — so a Node upgrade or
// a build change that breaks one fails here rather than in production.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { BatchSocketWriter, SocketBatch, batchWriteSupport } from '../../src/broadcast/socket-batch-write.js';
import { readAll, startLoopbackServer, type LoopbackServer } from './support/loopback-pair.js';

let loopback: LoopbackServer;
before(async () => {
  loopback = await startLoopbackServer();
});
after(() => loopback.close());

/** A writer that counts the sockets a batch handed back (partial writes, EAGAIN, errors). */
class CountingWriter extends BatchSocketWriter {
  handedBack: number[] = [];
  override finishBatchWrite(bytes: Uint8Array, outcome: number): void {
    this.handedBack.push(outcome);
    super.finishBatchWrite(bytes, outcome);
  }
}

function batchWrite(writers: CountingWriter[], bytes: Uint8Array): void {
  const batch = new SocketBatch<CountingWriter>();
  for (const writer of writers) {
    const fd = writer.batchFd;
    if (fd >= 0) batch.add(fd, writer);
    else writer.write(bytes);
  }
  batch.flush(bytes);
}

test('the C addon is built and loaded (npm run build compiles it with gcc)', () => {
  assert.equal(batchWriteSupport(), undefined);
});

test('one batch writes the same bytes to every socket; each takes them whole and nothing stays queued', async () => {
  const pairs = [await loopback.connectedPair(), await loopback.connectedPair(), await loopback.connectedPair()];
  const writers = pairs.map(({ sending }) => new CountingWriter(sending));
  assert.ok(writers.every((writer) => writer.batchFd > 2), 'an idle open socket offers its fd');
  const frame = Buffer.from('id: 1\nevent: snapshot\ndata: {"votes":1}\n\n');
  batchWrite(writers, frame);
  for (const writer of writers) assert.deepEqual([writer.pendingBytes, writer.handedBack.length], [0, 0]);
  for (const { receiving } of pairs) {
    assert.deepEqual(await readAll(receiving, frame.length), frame);
    receiving.destroy();
  }
});

test('a destroyed socket stops offering its fd in the same synchronous step (its fd may be reused at once)', async () => {
  const { sending, receiving } = await loopback.connectedPair();
  const writer = new CountingWriter(sending);
  assert.ok(writer.batchFd >= 0);
  sending.destroy();
  assert.equal(writer.batchFd, -1, 'net.Socket must drop its handle synchronously on destroy()');
  receiving.destroy();
});

test('what a batch could not send is queued by libuv; the socket leaves batches until it drained, and order is kept', async () => {
  const { sending, receiving } = await loopback.connectedPair();
  receiving.pause();
  const writer = new CountingWriter(sending);
  const big = Buffer.alloc(8 * 1024 * 1024, 7); // more than the loopback buffers hold
  batchWrite([writer], big);
  assert.equal(writer.handedBack.length, 1, 'the batch reports the socket it could not fill');
  assert.ok(writer.pendingBytes > 0, `the remainder is queued (batch outcome ${writer.handedBack.join()})`);
  assert.equal(writer.batchFd, -1, 'a socket with queued bytes is not batched');
  const heartbeat = Buffer.from(':\n\n');
  sending.write(heartbeat);
  const last = Buffer.from('id: last\n\n');
  batchWrite([writer], last); // goes the direct way, behind the queue
  const expected = Buffer.concat([big, heartbeat, last]);
  receiving.resume();
  const received = await readAll(receiving, expected.length);
  assert.equal(received.length, expected.length);
  assert.ok(received.equals(expected), 'bytes arrive complete and in the order they were written');
  while (writer.pendingBytes > 0) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(writer.batchFd >= 0, 'once drained, the socket is batched again');
  receiving.destroy();
});

test('a batch write to a connection the peer reset destroys that socket instead of throwing', async () => {
  const { sending, receiving } = await loopback.connectedPair();
  receiving.resetAndDestroy();
  const writer = new CountingWriter(sending);
  const closed = once(sending, 'close');
  for (let i = 0; i < 50 && !sending.destroyed; i += 1) {
    batchWrite([writer], Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await closed;
  assert.equal(sending.destroyed, true);
  assert.ok(writer.handedBack.some((outcome) => outcome < 0), 'the batch reported the error (-errno)');
});

test('a discarded batch sends nothing: no collected fd outlives the broadcast that collected it', async () => {
  const { sending, receiving } = await loopback.connectedPair();
  const writer = new CountingWriter(sending);
  const batch = new SocketBatch<CountingWriter>();
  batch.add(writer.batchFd, writer);
  batch.discard(); // what Hub.broadcast does in `finally`, e.g. after a throw half-way
  batch.flush(Buffer.from('stale\n\n'));
  const fresh = Buffer.from('id: 2\n\n');
  batchWrite([writer], fresh);
  assert.deepEqual(await readAll(receiving, fresh.length), fresh, 'only the later write arrives');
  receiving.destroy();
});
