// Where a partition's absolute partials go after each durable write (the contract is
// src/partition-tally.ts). Implementations: redis-partial-publisher.ts (production) and
// memory-partial-publisher.ts (unit tests). Publishing must keep the newest partial per
// (survey, partition): one with a lower nextOffset than the stored one changes nothing, so a late
// or zombie writer can never move a partial back, and republishing is always harmless.

/** HASH partition → JSON PartitionStatus, one per votes topic (read by `tally lag`). */
export const partitionStatusKey = (topic: string): string => `tally:aggregate:${topic}:partitions`;

export interface PartitionStatus {
  instance: string;
  nextOffset: string;
  /** When the last durable write of this partition finished (epoch ms). */
  writtenAt: number;
  /** The Kafka topic id nextOffset is of (src/topic-id.ts); absent from older writers. */
  topicId?: string;
}

export interface PartialPublisher {
  /**
   * `partials`: [surveyId, SurveyPartial JSON] of the surveys a durable write changed, all at
   * `nextOffset`; also records the partition's status (owner, offset, write time).
   */
  publish(partition: number, nextOffset: string, writtenAt: number, partials: ReadonlyArray<readonly [string, string]>): Promise<void>;
  /**
   * The partition's status as the publisher's target holds it now, or null when it has none (never
   * published, or lost: a Redis restart without persistence, FLUSHDB). The processor compares it
   * with its store to find partials that are missing or behind (partition-processor.ts).
   */
  status(partition: number): Promise<PartitionStatus | null>;
  close(): Promise<void>;
}
