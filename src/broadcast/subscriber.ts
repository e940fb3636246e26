// One SSE client of one survey. A client whose socket still holds more than `slowBytes` unsent
// bytes when a snapshot is due skips that snapshot instead of queueing it (the next one replaces
// it anyway: snapshots are full state); after MAX_SKIPPED_WINDOWS skips in a row it is dropped.
// The check and the write run inline in Hub.broadcast (the hot loop); this is the record it reads.
import type { SubscriberTransport } from './subscriber-transport.js';

/** Consecutive windows a client may fall behind before it is dropped as `slow`. */
export const MAX_SKIPPED_WINDOWS = 5;

/** Why the server closed a stream (label `reason` of tally_sse_clients_dropped_total). */
export type DropReason = 'slow' | 'shutdown';

export class Subscriber {
  /** Snapshots skipped in a row (the client was behind each time). */
  skippedWindows = 0;
  /** Position in its survey's member array (Hub), -1 when not a member: O(1) removal. */
  slot = -1;

  constructor(
    readonly surveyId: string,
    readonly ip: string,
    readonly transport: SubscriberTransport,
    readonly slowBytes: number,
  ) {}

  /** Heartbeats only go to idle sockets: any queued byte already keeps the connection busy. */
  heartbeat(): void {
    if (this.transport.pendingBytes === 0) this.transport.sendHeartbeat();
  }
}
