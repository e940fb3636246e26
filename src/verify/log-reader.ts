// Reads the votes topic from offset 0 up to end offsets captured before the run, so a recount
// always terminates even while votes keep arriving.
//
// kafkajs has no group-less consumer, so this one joins a throwaway group of its own
// (`tally-verify-<uuid>`), never commits (autoCommit off, so the group never holds offsets and a
// new group starts at the log start), and deletes the group afterwards. It shares nothing with
// the aggregator's group and cannot move its offsets.
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logger.js';

/**
 * Called with each fetched batch of a partition, in offset order, already cut at the partition's
 * end. It may be called again with records it has already seen (after a consumer restart), so
 * it must skip offsets it has applied.
 */
export type BatchHandler = (partition: number, messages: KafkaMessage[]) => Promise<void>;

export interface LogReadOptions {
  kafka: Kafka;
  topic: string;
  /** Every partition of the topic → end offset (exclusive); partitions at 0 are not read. */
  ends: Map<number, number>;
  onBatch: BatchHandler;
  logger: Logger;
}

const FETCH_BYTES_PER_PARTITION = 8 * 1024 * 1024;

/** Resolves once every partition of `ends` has been read to its end. */
export async function readLog({ kafka, topic, ends, onBatch, logger }: LogReadOptions): Promise<void> {
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  if (pending.size === 0) return;

  const groupId = `tally-verify-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
    maxBytes: FETCH_BYTES_PER_PARTITION * 4,
    maxWaitTimeInMs: 250,
    sessionTimeout: 60_000,
    heartbeatInterval: 3000,
  });

  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let failed = false;
  const fail = (error: unknown) => {
    failed = true;
    settle.reject(error);
  };

  const markRead = (partition: number, lastOffset: number) => {
    if (!pending.has(partition) || lastOffset < ends.get(partition)! - 1) return;
    pending.delete(partition);
    consumer.pause([{ topic, partitions: [partition] }]);
    if (pending.size === 0) settle.resolve();
  };

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  // Batches made only of control records never reach eachBatch, but can be the tail of a partition.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic) markRead(payload.partition, Number(payload.lastOffset));
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, pause }) => {
        if (failed || !pending.has(batch.partition)) {
          pause();
          return;
        }
        const end = ends.get(batch.partition)!;
        let messages = batch.messages;
        const last = messages[messages.length - 1];
        if (last !== undefined && Number(last.offset) >= end) messages = messages.filter((message) => Number(message.offset) < end);
        try {
          await onBatch(batch.partition, messages);
        } catch (error) {
          fail(error);
          return;
        }
        markRead(batch.partition, Number(batch.lastOffset()));
        await heartbeat();
      },
    });
    // Best effort: a fetch may already be under way; eachBatch pauses what it is not reading.
    const skipped = [...ends].filter(([, end]) => end === 0).map(([partition]) => partition);
    if (skipped.length > 0) consumer.pause([{ topic, partitions: skipped }]);
    await finished;
  } finally {
    await consumer.disconnect().catch((error: unknown) => logger.warn({ err: error }, 'verify consumer disconnect failed'));
    await deleteGroup(kafka, groupId, logger);
  }
}

async function deleteGroup(kafka: Kafka, groupId: string, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch (error) {
    logger.warn({ err: error, groupId }, 'could not delete the throwaway verify consumer group');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
