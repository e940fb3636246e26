// One SSE client of one survey. A client whose socket still holds more than `slowBytes` unsent
// bytes when a snapshot is due skips that snapshot instead of queueing it (the next one replaces
// it anyway: snapshots are full state); after MAX_SKIPPED_WINDOWS skips in a row it is dropped.
import type { SnapshotFrame } from './sse-frame.js';
import type { SubscriberTransport } from './subscriber-transport.js';

/** Consecutive windows a client may fall behind before it is dropped as `slow`. */
export const MAX_SKIPPED_WINDOWS = 5;

/** Why the server closed a stream (label `reason` of tally_sse_clients_dropped_total). */
export type DropReason = 'slow' | 'shutdown';

/** What happened to one offered snapshot. */
export type Delivery = 'written' | 'skipped' | 'behind';

export class Subscriber {
  private skippedWindows = 0;

  constructor(
    readonly surveyId: string,
    readonly ip: string,
    readonly transport: SubscriberTransport,
    private readonly slowBytes: number,
  ) {}

  /** Writes the frame unless the client is behind; `behind` means: drop it. */
  offer(frame: SnapshotFrame): Delivery {
    if (this.transport.pendingBytes > this.slowBytes) {
      this.skippedWindows += 1;
      return this.skippedWindows >= MAX_SKIPPED_WINDOWS ? 'behind' : 'skipped';
    }
    this.skippedWindows = 0;
    this.transport.sendSnapshot(frame);
    return 'written';
  }

  /** Heartbeats only go to idle sockets: any queued byte already keeps the connection busy. */
  heartbeat(): void {
    if (this.transport.pendingBytes === 0) this.transport.sendHeartbeat();
  }
}
