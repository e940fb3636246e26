// The direct write path leans on Node internals (socket-direct-write.ts): these tests pin each
// behaviour it relies on, on a real loopback TCP connection, so a Node upgrade that changes one
// fails here rather than in production.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { DirectSocketWriter, directWriteSupport } from '../../src/broadcast/socket-direct-write.js';
import { readAll, startLoopbackServer, type LoopbackServer } from './support/loopback-pair.js';

let loopback: LoopbackServer;
before(async () => {
  loopback = await startLoopbackServer();
});
after(() => loopback.close());
const connectedPair = () => loopback.connectedPair();

test('this Node exposes what the direct path needs (process.binding stream_wrap: WriteWrap, streamBaseState, kLastWriteWasAsync)', () => {
  assert.equal(directWriteSupport(), undefined);
});

test('a small write is taken by the kernel at once: nothing stays queued and the bytes arrive', async () => {
  const { sending, receiving } = await connectedPair();
  const writer = new DirectSocketWriter(sending);
  const frame = Buffer.from('id: 1\nevent: snapshot\ndata: {"votes":1}\n\n');
  writer.write(frame);
  assert.equal(writer.pendingBytes, 0);
  assert.deepEqual(await readAll(receiving, frame.length), frame);
  receiving.destroy();
});

test('when the socket is full, libuv queues the write: pendingBytes counts it, it completes once the peer reads, and order with socket.write() is kept', async () => {
  const { sending, receiving } = await connectedPair();
  receiving.pause();
  const writer = new DirectSocketWriter(sending);
  const chunk = Buffer.alloc(256 * 1024);
  const written: Buffer[] = [];
  // Fill the kernel's buffers until a write is queued by libuv (async).
  for (let i = 0; i < 200 && writer.pendingBytes === 0; i += 1) {
    const bytes = Buffer.from(chunk.fill(i % 251));
    written.push(bytes);
    writer.write(bytes);
  }
  assert.ok(writer.pendingBytes > 0, 'a write to a peer that does not read must end up queued');
  // A write through the public API (a heartbeat, say) and another direct one go after it.
  const heartbeat = Buffer.from(':\n\n');
  sending.write(heartbeat);
  const last = Buffer.from('id: last\n\n');
  writer.write(last);
  written.push(heartbeat, last);
  const expected = Buffer.concat(written);
  receiving.resume();
  const received = await readAll(receiving, expected.length);
  assert.equal(received.length, expected.length);
  assert.ok(received.equals(expected), 'bytes arrive complete and in the order they were written');
  while (writer.pendingBytes > 0) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writer.pendingBytes, 0);
  receiving.destroy();
});

test('bytes the Writable still holds (corked) go first: the direct write joins their queue', async () => {
  const { sending, receiving } = await connectedPair();
  const writer = new DirectSocketWriter(sending);
  const head = Buffer.from('HTTP/1.1 200 OK\r\n\r\n');
  const frame = Buffer.from('id: 1\n\n');
  sending.cork();
  sending.write(head);
  writer.write(frame);
  sending.uncork();
  const expected = Buffer.concat([head, frame]);
  assert.deepEqual(await readAll(receiving, expected.length), expected);
  receiving.destroy();
});

test('a socket that is gone is not written to and nothing throws', async () => {
  const { sending, receiving } = await connectedPair();
  const writer = new DirectSocketWriter(sending);
  sending.destroy();
  await once(sending, 'close');
  writer.write(Buffer.from('late\n\n'));
  assert.equal(writer.pendingBytes, 0);
  receiving.destroy();
});

test('a write to a connection the peer reset destroys the socket instead of throwing', async () => {
  const { sending, receiving } = await connectedPair();
  receiving.resetAndDestroy();
  const writer = new DirectSocketWriter(sending);
  const closed = once(sending, 'close');
  // The first write after a reset may still succeed; a later one sees EPIPE / ECONNRESET.
  for (let i = 0; i < 50 && !sending.destroyed; i += 1) {
    writer.write(Buffer.alloc(64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await closed;
  assert.equal(sending.destroyed, true);
});
