// The local fan-out: subscribers grouped by survey, each survey's members in one flat array. A
// broadcast walks that array and writes the same Buffer to every member: per delivery one
// comparison (is the client behind?) and either the socket's fd added to the broadcast's batch
// (written by one C call at the end, socket-batch-write.ts) or one socket write; nothing
// allocated, no closure, no promise, no metric update (counted once per broadcast), no timer. A
// client that is behind is skipped, or dropped once it stayed behind for MAX_SKIPPED_WINDOWS
// snapshots in a row.
import type { Logger } from '../logger.js';
import type { BroadcastMetrics } from './broadcast-metrics.js';
import { SocketBatch } from './socket-batch-write.js';
import type { SnapshotFrame } from './sse-frame.js';
import type { SubscriberTransport } from './subscriber-transport.js';
import { MAX_SKIPPED_WINDOWS, type DropReason, type Subscriber } from './subscriber.js';

export interface FanoutResult {
  written: number;
  skipped: number;
  dropped: number;
  seconds: number;
}

interface Audience {
  members: Subscriber[];
  /** epoch ms of the survey's latest broadcast: its members were written to then. */
  lastBroadcastAt: number;
}

export class Hub {
  private readonly audiences = new Map<string, Audience>();
  private count = 0;
  /** Set while a broadcast walks a member array: removals wait until it is done. */
  private walking: Audience | undefined;
  private readonly leftWhileWalking: Subscriber[] = [];
  private readonly batch = new SocketBatch<SubscriberTransport>();

  constructor(
    private readonly metrics: BroadcastMetrics,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.count;
  }

  subscriberCount(surveyId: string): number {
    return this.audiences.get(surveyId)?.members.length ?? 0;
  }

  /** Sends the current snapshot at once, then includes the client in every later broadcast. */
  join(subscriber: Subscriber, current: SnapshotFrame): void {
    subscriber.transport.sendSnapshot(current);
    let audience = this.audiences.get(subscriber.surveyId);
    if (!audience) this.audiences.set(subscriber.surveyId, (audience = { members: [], lastBroadcastAt: 0 }));
    subscriber.slot = audience.members.length;
    audience.members.push(subscriber);
    this.count += 1;
  }

  /** The client's connection closed (for whatever reason). Idempotent. */
  leave(subscriber: Subscriber): void {
    const audience = this.audiences.get(subscriber.surveyId);
    if (!audience || subscriber.slot < 0 || audience.members[subscriber.slot] !== subscriber) return;
    if (audience === this.walking) {
      this.leftWhileWalking.push(subscriber);
      return;
    }
    // Swap-remove: the last member takes the leaving one's slot.
    const members = audience.members;
    const last = members.pop()!;
    if (last !== subscriber) {
      members[subscriber.slot] = last;
      last.slot = subscriber.slot;
    }
    subscriber.slot = -1;
    this.count -= 1;
    if (members.length === 0) this.audiences.delete(subscriber.surveyId);
  }

  broadcast(surveyId: string, frame: SnapshotFrame): FanoutResult {
    const started = process.hrtime.bigint();
    let written = 0;
    let skipped = 0;
    let behind: Subscriber[] | undefined;
    const audience = this.audiences.get(surveyId);
    if (audience) {
      audience.lastBroadcastAt = Date.now();
      const members = audience.members;
      this.walking = audience;
      try {
        for (let i = 0; i < members.length; i += 1) {
          const subscriber = members[i]!;
          const transport = subscriber.transport;
          if (transport.pendingBytes <= subscriber.slowBytes) {
            subscriber.skippedWindows = 0;
            const fd = transport.batchFd;
            if (fd >= 0) this.batch.add(fd, transport);
            else transport.sendSnapshot(frame);
          } else if ((subscriber.skippedWindows += 1) < MAX_SKIPPED_WINDOWS) skipped += 1;
          else (behind ??= []).push(subscriber);
        }
        // Before any other JavaScript runs: every fd collected is still open (socket-batch-write.ts).
        this.batch.flush(frame.bytes);
        written = members.length - skipped - (behind?.length ?? 0);
      } finally {
        this.batch.discard(); // nothing left after a flush; after a throw, no fd may outlive this call
        this.walking = undefined;
        for (const subscriber of this.leftWhileWalking.splice(0)) this.leave(subscriber);
      }
    }
    const dropped = behind?.length ?? 0;
    if (behind) for (const subscriber of behind) this.drop(subscriber, 'slow');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.snapshotsSent.inc();
    this.metrics.fanoutSeconds.observe(seconds);
    if (written > 0) this.metrics.deliveries.inc({ outcome: 'written' }, written);
    if (skipped + dropped > 0) this.metrics.deliveries.inc({ outcome: 'skipped' }, skipped + dropped);
    return { written, skipped: skipped + dropped, dropped, seconds };
  }

  /**
   * Heartbeats for the subscribers of surveys that broadcast nothing since `quietSince` (epoch ms).
   * A survey that broadcast since then wrote to every one of its subscribers (or they still hold
   * unsent bytes), and the new ones got the current snapshot on joining: none of them is idle. At
   * 250,000 clients a heartbeat round to everyone costs as much as a snapshot round.
   */
  heartbeat(quietSince: number): void {
    for (const audience of this.audiences.values()) {
      if (audience.lastBroadcastAt > quietSince) continue;
      for (const subscriber of audience.members) subscriber.heartbeat();
    }
  }

  drop(subscriber: Subscriber, reason: DropReason): void {
    this.metrics.dropped.inc({ reason });
    this.logger.debug({ surveyId: subscriber.surveyId, ip: subscriber.ip, reason }, 'SSE client dropped');
    this.leave(subscriber);
    subscriber.transport.sendGoodbyeAndEnd(reason);
  }

  /** Graceful stop: every client is told to reconnect (to another process) and closed. */
  closeAll(): number {
    const all = [...this.audiences.values()].flatMap((audience) => [...audience.members]);
    for (const subscriber of all) this.drop(subscriber, 'shutdown');
    return all.length;
  }
}
