// Reads a votes topic back and counts each vote id, so the ingest bench can check that every vote
// answered 202 is in Kafka exactly once. The vote id is the first field of the Avro record (after the
// 5-byte Confluent header: a zigzag-varint length and the UTF-8 bytes), read without decoding the rest.
import type { Kafka } from 'kafkajs';
import { randomBytes } from 'node:crypto';

const HEADER_BYTES = 5;

/** The vote id of a record in the Confluent wire format, or null if it cannot be read. */
export function voteIdOfRecord(value: Buffer | null): string | null {
  if (value === null || value.length <= HEADER_BYTES) return null;
  let zigzag = 0;
  let shift = 0;
  let i = HEADER_BYTES;
  for (;;) {
    const byte = value[i++];
    if (byte === undefined || shift > 28) return null;
    zigzag |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  const length = (zigzag >>> 1) ^ -(zigzag & 1);
  if (length < 0 || i + length > value.length) return null;
  return value.toString('utf8', i, i + length);
}

export interface TopicVoteIds {
  records: number;
  /** vote id → records carrying it */
  counts: Map<string, number>;
  unreadable: number;
}

/** Consumes `topic` from the beginning up to its current end. */
export async function readTopicVoteIds(kafka: Kafka, topic: string, progress: (line: string) => void): Promise<TopicVoteIds> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const expected = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const result: TopicVoteIds = { records: 0, counts: new Map(), unreadable: 0 };
  if (expected === 0) return result;
  const consumer = kafka.consumer({ groupId: `bench-check-${randomBytes(4).toString('hex')}`, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let nextReport = 100_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${result.records} of ${expected} records of ${topic} in 120 s`)), 120_000);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const id = voteIdOfRecord(message.value);
            if (id === null) result.unreadable += 1;
            else result.counts.set(id, (result.counts.get(id) ?? 0) + 1);
          }
          result.records += batch.messages.length;
          if (result.records >= nextReport) {
            progress(`checking the topic: ${result.records.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} records read`);
            nextReport += 100_000;
          }
          if (result.records >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return result;
}
