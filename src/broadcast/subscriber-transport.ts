// How frames reach one SSE client. Implementations, chosen per server (TALLY_SSE_WRITE_PATH):
//   subscriber-transport-socket.ts  the shared snapshot Buffer written straight to the socket:
//                                   `direct` through its libuv handle (socket-direct-write.ts, the
//                                   default), `socket` through socket.write()
//   subscriber-transport-plugin.ts  fastify-sse-v2's reply.sse(), which formats per client;
//                                   kept to measure against (README "Fan-out: two write paths")
import type { SnapshotFrame } from './sse-frame.js';
import type { DropReason } from './subscriber.js';

export type TransportKind = 'direct' | 'socket' | 'plugin';

export interface SubscriberTransport {
  /** Bytes accepted for this client but not yet handed to the kernel: the slow-client signal. */
  readonly pendingBytes: number;
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
