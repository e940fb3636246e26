// The tumbling window: at every multiple of windowMs (wall clock, so every broadcaster process of a
// cluster closes its windows together), each survey whose counts changed gets one new snapshot,
// serialized once and fanned out to its local subscribers. Unchanged surveys send nothing.
import type { Logger } from '../logger.js';
import type { BroadcastMetrics } from './broadcast-metrics.js';
import type { Hub } from './hub.js';
import type { ResultsBoard } from './results-board.js';

export class SnapshotWindow {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly windowMs: number,
    private readonly board: ResultsBoard,
    private readonly hub: Hub,
    private readonly metrics: BroadcastMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Closes the current window: publishes every changed survey. */
  close(now = Date.now()): void {
    for (const surveyId of this.board.changedSurveys()) {
      const previousCastAt = this.board.latest(surveyId)?.snapshot.lastCastAt ?? null;
      const frame = this.board.publish(surveyId, now);
      if (!frame) continue;
      const fanout = this.hub.broadcast(surveyId, frame);
      const castAt = frame.snapshot.lastCastAt;
      if (fanout.written > 0 && castAt !== null && (previousCastAt === null || castAt > previousCastAt)) {
        this.metrics.voteToSnapshotSeconds.observe(Math.max(0, Date.now() - castAt) / 1000);
      }
      if (fanout.dropped > 0 || fanout.seconds > 0.5) {
        this.logger.info({ surveyId, snapshotId: frame.snapshot.snapshotId, ...fanout }, 'snapshot fan-out');
      }
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.windowMs - (Date.now() % this.windowMs);
    this.timer = setTimeout(() => {
      try {
        this.close();
      } catch (error) {
        this.logger.error({ err: error }, 'window close failed');
      }
      this.schedule();
    }, delay);
  }
}
