// Reads the records first … last (inclusive) of one partition of the votes topic, for the Merkle
// proof of a receipt (receipt-proofs.ts): the leaves come from the log itself, never from the
// voter's word. Like log-reader.ts it joins a throwaway group (`tally-receipt-<uuid>`, kafkajs has
// no group-less consumer), never commits, seeks to `first`, and deletes the group afterwards.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface LogRecord {
  offset: number;
  value: Buffer | null;
}

export interface LogRangeOptions {
  kafka: Kafka;
  topic: string;
  partition: number;
  first: number;
  last: number;
  logger: Logger;
  timeoutMs?: number;
}

export async function readLogRange({ kafka, topic, partition, first, last, logger, timeoutMs = 30_000 }: LogRangeOptions): Promise<LogRecord[]> {
  const groupId = `tally-receipt-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytesPerPartition: 8 * 1024 * 1024, sessionTimeout: 30_000, heartbeatInterval: 3000 });
  const records: LogRecord[] = [];
  let next = first;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const timer = setTimeout(() => settle.reject(new TallyError('TALLY_ERR_UNAVAILABLE', `reading ${topic}/${partition} offsets ${first}..${last} took over ${timeoutMs} ms`, { retryAfterSeconds: 5 })), timeoutMs);
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) settle.reject(payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, pause }) => {
        if (batch.partition !== partition || next > last) {
          pause();
          return;
        }
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset < next) continue; // before the seek took effect, or delivered again
          if (offset > last) break;
          records.push({ offset, value: message.value });
          next = offset + 1;
        }
        if (next > last || Number(batch.lastOffset()) >= last) {
          next = last + 1;
          settle.resolve();
          pause();
        }
      },
    });
    consumer.seek({ topic, partition, offset: String(first) });
    await finished;
    return records;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch((error: unknown) => logger.warn({ err: error }, 'receipt consumer disconnect failed'));
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch((error: unknown) => logger.warn({ err: error, groupId }, 'could not delete the throwaway receipt consumer group'))
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}
