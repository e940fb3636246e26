// fastify-sse-v2's own per-client path: reply.sse() pushes an event object into the reply's queue,
// which the plugin serializes to text for this client alone and pipes into the response. Correct,
// but it formats every snapshot once per client and queues without bound behind a slow client, so
// the server uses SocketTransport for broadcasts; this one exists to measure the difference.
import type { FastifyReply } from 'fastify';
import { RETRY_MS, SLOW_RETRY_MS, type SnapshotFrame } from './sse-frame.js';
import type { SubscriberTransport } from './subscriber-transport.js';
import type { DropReason } from './subscriber.js';

export class PluginTransport implements SubscriberTransport {
  constructor(private readonly reply: FastifyReply) {}

  get pendingBytes(): number {
    return this.reply.raw.socket?.writableLength ?? 0;
  }

  get batchFd(): number {
    return -1;
  }

  finishBatchWrite(_bytes: Uint8Array, _outcome: number): void {
    throw new Error('the plugin transport is never batched');
  }

  sendSnapshot(frame: SnapshotFrame): void {
    this.reply.sse(frame.message);
  }

  sendHeartbeat(): void {
    this.reply.sse({ comment: 'heartbeat' });
  }

  sendGoodbyeAndEnd(reason: DropReason): void {
    if (reason === 'shutdown') this.reply.sse({ event: 'shutdown', data: '{"reason":"shutdown"}', retry: RETRY_MS });
    else this.reply.sse({ event: 'dropped', data: `{"reason":"${reason}"}`, retry: SLOW_RETRY_MS });
    this.reply.sseContext.source.end();
  }

  destroy(): void {
    this.reply.raw.destroy();
  }
}
