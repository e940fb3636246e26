// Waiting for an aggregator to have processed a topic up to its log end. "Processed" is read from
// one of the two places the aggregator writes after each durable RocksDB batch: its status hash in
// Redis (the next offset per partition) or its consumer group's committed offsets in Kafka.
import type { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { partitionStatusKey, type PartitionStatus } from '../../src/aggregate/partial-publisher.js';
import { waitFor } from './wait.js';

/** Partition → next offset the aggregator will process. */
export type ProcessedOffsets = () => Promise<Map<number, number>>;

/** Partition → log end (the offset the next record will get). */
export async function logEnds(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
}

/** The aggregator's own record of what it stored: the status hash it writes to Redis. */
export function storedOffsets(redis: Redis, topic: string): ProcessedOffsets {
  return async () => {
    const statuses = await redis.hgetall(partitionStatusKey(topic));
    return new Map(Object.entries(statuses).map(([partition, json]) => [Number(partition), Number((JSON.parse(json) as PartitionStatus).nextOffset)]));
  };
}

/** The consumer group's committed offsets (committed only after the durable write). */
export function committedOffsets(admin: Admin, groupId: string, topic: string): ProcessedOffsets {
  return async () => {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(committed!.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
  };
}

export interface CaughtUpOptions {
  timeoutMs: number;
  /** The offsets to reach (default: the log ends when the wait starts). */
  ends?: Map<number, number>;
  /** Throws to end the wait early, e.g. when the aggregator's process has exited. */
  check?: () => void;
}

/** Waits until `processed` reaches the log end of every partition of `topic`. */
export async function waitCaughtUp(admin: Admin, topic: string, processed: ProcessedOffsets, options: CaughtUpOptions): Promise<void> {
  const ends = options.ends ?? (await logEnds(admin, topic));
  await waitFor(
    async (seen) => {
      options.check?.();
      const next = await processed();
      const behind = [...ends].filter(([partition, end]) => end > 0 && (next.get(partition) ?? 0) < end);
      seen(behind.map(([partition, end]) => `p${partition} ${next.get(partition) ?? 0}/${end}`).join(', '));
      return behind.length === 0;
    },
    { timeoutMs: options.timeoutMs, what: `the aggregator to catch up with ${topic}`, intervalMs: 200 },
  );
}
