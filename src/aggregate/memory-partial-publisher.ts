// PartialPublisher in memory, for unit tests (no Redis): keeps the newest partial per
// (survey, partition) by the same rule as PUBLISH_IF_NEWER_LUA, and counts the publishes.
import type { SurveyPartial } from '../partition-tally.js';
import type { PartialPublisher, PartitionStatus } from './partial-publisher.js';

export class MemoryPartialPublisher implements PartialPublisher {
  /** surveyId → partition → the newest partial */
  readonly partials = new Map<string, Map<number, SurveyPartial>>();
  readonly statuses = new Map<number, PartitionStatus>();
  publishes = 0;
  /** Set to make the next publish fail (a Redis outage). */
  failNext: Error | null = null;

  constructor(
    private readonly instance = 'memory',
    private readonly topicId?: string,
  ) {}

  async publish(partition: number, nextOffset: string, writtenAt: number, partials: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    this.publishes++;
    for (const [surveyId, json] of partials) {
      let byPartition = this.partials.get(surveyId);
      if (!byPartition) this.partials.set(surveyId, (byPartition = new Map()));
      const stored = byPartition.get(partition);
      if (stored && Number(stored.nextOffset) >= Number(nextOffset)) continue;
      byPartition.set(partition, JSON.parse(json) as SurveyPartial);
    }
    this.statuses.set(partition, { instance: this.instance, nextOffset, writtenAt, ...(this.topicId === undefined ? {} : { topicId: this.topicId }) });
  }

  async status(partition: number): Promise<PartitionStatus | null> {
    return this.statuses.get(partition) ?? null;
  }

  /** Forgets everything, as a Redis restart without persistence (or FLUSHDB) does. */
  clear(): void {
    this.partials.clear();
    this.statuses.clear();
  }

  partial(surveyId: string, partition: number): SurveyPartial | undefined {
    return this.partials.get(surveyId)?.get(partition);
  }

  async close(): Promise<void> {}
}
