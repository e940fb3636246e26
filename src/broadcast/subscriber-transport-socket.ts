// The broadcast hot path: every frame is a pre-serialized Buffer shared by all subscribers, written
// straight to the TCP socket. The response is sent without chunked encoding (see stream-route.ts),
// so the bytes on the wire are exactly the SSE frame and one Buffer serves every client.
import type { Socket } from 'node:net';
import { BatchSocketWriter } from './socket-batch-write.js';
import { DirectSocketWriter } from './socket-direct-write.js';
import { DROPPED_SLOW_FRAME, HEARTBEAT_FRAME, SHUTDOWN_FRAME, type SnapshotFrame } from './sse-frame.js';
import type { SubscriberTransport } from './subscriber-transport.js';
import type { DropReason } from './subscriber.js';

/** How long a closing stream may take to flush its goodbye before it is cut (a slow one has more to read). */
const GRACE_MS: Record<DropReason, number> = { shutdown: 2000, slow: 10_000 };
const GOODBYE: Record<DropReason, Buffer> = { shutdown: SHUTDOWN_FRAME, slow: DROPPED_SLOW_FRAME };

export class SocketTransport implements SubscriberTransport {
  constructor(private readonly socket: Socket) {}

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  get batchFd(): number {
    return -1;
  }

  finishBatchWrite(_bytes: Uint8Array, _outcome: number): void {
    throw new Error('a socket.write() transport is never batched');
  }

  sendSnapshot(frame: SnapshotFrame): void {
    this.socket.write(frame.bytes);
  }

  sendHeartbeat(): void {
    this.socket.write(HEARTBEAT_FRAME);
  }

  sendGoodbyeAndEnd(reason: DropReason): void {
    this.socket.end(GOODBYE[reason]);
    // A client that never reads would hold the socket (and a graceful stop) open forever.
    setTimeout(() => this.socket.destroy(), GRACE_MS[reason]).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * The same transport with snapshots written through the socket's handle (socket-direct-write.ts).
 * A class of its own so that a server's hot loop sees one shape only.
 */
export class DirectSocketTransport extends SocketTransport {
  protected readonly writer: DirectSocketWriter;

  constructor(socket: Socket, writer = new DirectSocketWriter(socket)) {
    super(socket);
    this.writer = writer;
  }

  override get pendingBytes(): number {
    return this.writer.pendingBytes;
  }

  override sendSnapshot(frame: SnapshotFrame): void {
    this.writer.write(frame.bytes);
  }
}

/**
 * The direct transport whose snapshots Hub.broadcast collects into one SocketBatch per broadcast
 * (socket-batch-write.ts); a client with bytes still queued gets its snapshot the direct way.
 */
export class BatchSocketTransport extends DirectSocketTransport {
  private readonly batchWriter: BatchSocketWriter;

  constructor(socket: Socket) {
    const writer = new BatchSocketWriter(socket);
    super(socket, writer);
    this.batchWriter = writer;
  }

  override get batchFd(): number {
    return this.batchWriter.batchFd;
  }

  override finishBatchWrite(bytes: Uint8Array, outcome: number): void {
    this.batchWriter.finishBatchWrite(bytes, outcome);
  }
}
