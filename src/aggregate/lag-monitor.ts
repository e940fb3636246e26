// Refreshes tally_consumer_lag{topic,partition} = log end offset − next offset to process, for the
// partitions this process owns, from the broker's log end offsets every LAG_REFRESH_MS.
import type { Admin } from 'kafkajs';
import type { Logger } from '../logger.js';
import type { AggregateMetrics } from './aggregate-metrics.js';

export const LAG_REFRESH_MS = 2000;

export class LagMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly positions: () => Map<number, number>,
    private readonly metrics: AggregateMetrics,
    private readonly logger: Logger,
    /** Told the topic's partition count at every refresh. */
    private readonly onPartitionCount: (partitions: number) => void = () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.refresh().finally(() => (this.running = undefined));
    }, LAG_REFRESH_MS);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    try {
      const ends = await this.admin.fetchTopicOffsets(this.topic);
      this.onPartitionCount(ends.length);
      const positions = this.positions();
      for (const { partition, high } of ends) {
        const labels = { topic: this.topic, partition: String(partition) };
        const next = positions.get(partition);
        if (next === undefined) this.metrics.lag.remove(labels);
        else this.metrics.lag.set(labels, Math.max(0, Number(high) - next));
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'lag refresh failed');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
