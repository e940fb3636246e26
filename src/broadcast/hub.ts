// The local fan-out: subscribers grouped by survey. A broadcast walks one survey's subscribers and
// offers each the same frame; nothing is allocated per client, metrics are counted once per
// broadcast, and a client that is behind is skipped or dropped instead of slowing the others.
import type { Logger } from '../logger.js';
import type { BroadcastMetrics } from './broadcast-metrics.js';
import type { SnapshotFrame } from './sse-frame.js';
import type { DropReason, Subscriber } from './subscriber.js';

export interface FanoutResult {
  written: number;
  skipped: number;
  dropped: number;
  seconds: number;
}

export class Hub {
  private readonly bySurvey = new Map<string, Set<Subscriber>>();
  /** epoch ms of each survey's latest broadcast: its subscribers were written to then. */
  private readonly lastBroadcastAt = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly metrics: BroadcastMetrics,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.count;
  }

  subscriberCount(surveyId: string): number {
    return this.bySurvey.get(surveyId)?.size ?? 0;
  }

  /** Sends the current snapshot at once, then includes the client in every later broadcast. */
  join(subscriber: Subscriber, current: SnapshotFrame): void {
    subscriber.transport.sendSnapshot(current);
    let set = this.bySurvey.get(subscriber.surveyId);
    if (!set) this.bySurvey.set(subscriber.surveyId, (set = new Set()));
    set.add(subscriber);
    this.count += 1;
  }

  /** The client's connection closed (for whatever reason). Idempotent. */
  leave(subscriber: Subscriber): void {
    const set = this.bySurvey.get(subscriber.surveyId);
    if (!set?.delete(subscriber)) return;
    this.count -= 1;
    if (set.size === 0) {
      this.bySurvey.delete(subscriber.surveyId);
      this.lastBroadcastAt.delete(subscriber.surveyId);
    }
  }

  broadcast(surveyId: string, frame: SnapshotFrame): FanoutResult {
    const started = process.hrtime.bigint();
    let written = 0;
    let skipped = 0;
    let dropped = 0;
    const set = this.bySurvey.get(surveyId);
    if (set) {
      this.lastBroadcastAt.set(surveyId, Date.now());
      for (const subscriber of set) {
        const delivery = subscriber.offer(frame);
        if (delivery === 'written') written += 1;
        else if (delivery === 'skipped') skipped += 1;
        else {
          skipped += 1;
          dropped += 1;
          this.drop(subscriber, 'slow');
        }
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.snapshotsSent.inc();
    this.metrics.fanoutSeconds.observe(seconds);
    if (written > 0) this.metrics.deliveries.inc({ outcome: 'written' }, written);
    if (skipped > 0) this.metrics.deliveries.inc({ outcome: 'skipped' }, skipped);
    return { written, skipped, dropped, seconds };
  }

  /**
   * Heartbeats for the subscribers of surveys that broadcast nothing since `quietSince` (epoch ms).
   * A survey that broadcast since then wrote to every one of its subscribers (or they still hold
   * unsent bytes), and the new ones got the current snapshot on joining: none of them is idle. At
   * 250,000 clients a heartbeat round to everyone costs as much as a snapshot round.
   */
  heartbeat(quietSince: number): void {
    for (const [surveyId, set] of this.bySurvey) {
      if ((this.lastBroadcastAt.get(surveyId) ?? 0) > quietSince) continue;
      for (const subscriber of set) subscriber.heartbeat();
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
    const all = [...this.bySurvey.values()].flatMap((set) => [...set]);
    for (const subscriber of all) this.drop(subscriber, 'shutdown');
    return all.length;
  }
}
