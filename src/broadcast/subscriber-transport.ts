// How frames reach one SSE client. Implementations, chosen per server (TALLY_SSE_WRITE_PATH):
//   subscriber-transport-socket.ts  the shared snapshot Buffer written straight to the socket:
//                                   `batch` by one C call per broadcast for every socket with room
//                                   (socket-batch-write.ts, the default), `direct` through each
//                                   socket's libuv handle (socket-direct-write.ts), `socket` through
//                                   socket.write()
//   subscriber-transport-plugin.ts  fastify-sse-v2's reply.sse(), which formats per client;
//                                   kept to measure against (README "Fan-out: two write paths")
import type { SnapshotFrame } from './sse-frame.js';
import type { DropReason } from './subscriber.js';

export type TransportKind = 'batch' | 'direct' | 'socket' | 'plugin';

export interface SubscriberTransport {
  /** Bytes accepted for this client but not yet handed to the kernel: the slow-client signal. */
  readonly pendingBytes: number;
  /** The socket's fd while a SocketBatch may write this client's snapshot, else -1 (`batch` only). */
  readonly batchFd: number;
  /** After a batch write this client did not take whole: `outcome` = bytes taken, or -errno. */
  finishBatchWrite(bytes: Uint8Array, outcome: number): void;
  sendSnapshot(frame: SnapshotFrame): void;
  sendHeartbeat(): void;
  /**
   * Tells the client why the server closes its stream (`event: shutdown` or `event: dropped`, each
   * with a `retry:` hint), then ends it; a client that does not read it within a grace period is cut.
   */
  sendGoodbyeAndEnd(reason: DropReason): void;
  /** Closes at once, dropping whatever is still queued (a client that stopped reading). */
  destroy(): void;
}
