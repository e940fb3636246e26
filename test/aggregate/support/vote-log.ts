// Test helpers around the votes log: produce a generated stream, read back what the aggregator
// published (Redis), what it stored (RocksDB), the DLQ, and the hash chain recomputed straight from
// the topic. Waiting for it to catch up: test/support/caught-up.ts.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { surveyHashKey, type SurveyPartial } from '../../../src/partition-tally.js';
import { readPartitionState } from '../../../src/aggregate/partition-state-reader.js';
import type { OutcomeCounts } from '../../../src/aggregate/worker-messages.js';
import { sumPartials } from '../../../bench/aggregate/tally-diff.js';
import { logEnds } from '../../support/caught-up.js';
import { within } from '../../support/wait.js';
import type { SurveyCounts } from '../../../bench/aggregate/expected-tally.js';
import type { GeneratedRecord } from '../../../bench/aggregate/vote-generator.js';

export async function produceRecords(producer: Producer, topic: string, records: readonly GeneratedRecord[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
}

/** Each survey's tally as the sum of its partitions' Redis partials. */
export async function redisTallies(redis: Redis, surveyIds: readonly string[]): Promise<Map<string, SurveyCounts>> {
  const tallies = new Map<string, SurveyCounts>();
  for (const surveyId of surveyIds) {
    const partials = Object.values(await redis.hgetall(surveyHashKey(surveyId))).map((json) => JSON.parse(json) as SurveyPartial);
    if (partials.length > 0) tallies.set(surveyId, sumPartials(partials));
  }
  return tallies;
}

/** Tallies and outcome counts summed over every partition directory of the topic (aggregator stopped). */
export async function rocksdbTotals(dataDir: string, topic: string): Promise<{ tallies: Map<string, SurveyCounts>; outcomes: OutcomeCounts; nextOffsets: Map<number, number> }> {
  const byPartition = new Map<string, SurveyCounts[]>();
  const outcomes: OutcomeCounts = { accepted: 0, duplicate: 0, invalid: 0 };
  const nextOffsets = new Map<number, number>();
  for (const name of readdirSync(join(dataDir, topic))) {
    const state = await readPartitionState(join(dataDir, topic, name));
    nextOffsets.set(Number(name.replace('partition-', '')), state.nextOffset);
    outcomes.accepted += state.outcomes.accepted;
    outcomes.duplicate += state.outcomes.duplicate;
    outcomes.invalid += state.outcomes.invalid;
    for (const [surveyId, tally] of state.surveys) {
      const list = byPartition.get(surveyId) ?? [];
      list.push(tally);
      byPartition.set(surveyId, list);
    }
  }
  return { tallies: new Map([...byPartition].map(([id, partials]) => [id, sumPartials(partials)])), outcomes, nextOffsets };
}

export interface LoggedRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Every record of `topic` (read with a throw-away consumer group). */
export async function readTopic(kafka: Kafka, admin: Admin, topic: string, timeoutMs = 30_000): Promise<LoggedRecord[]> {
  const ends = await logEnds(admin, topic);
  const remaining = new Map([...ends].filter(([, end]) => end > 0));
  const records: LoggedRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          const offset = Number(message.offset);
          records.push({ partition: batch.partition, offset, key: message.key, value: message.value, headers });
          if (offset + 1 >= (remaining.get(batch.partition) ?? Infinity)) remaining.delete(batch.partition);
        }
        if (remaining.size === 0) resolve();
      },
    });
  });
  try {
    await within(done, { timeoutMs, what: () => `every record of ${topic}; partitions left: ${[...remaining.keys()].join(',')}` });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** h(offset) for every record, recomputed from the log by the formula of docs/counting-rules.md. */
export function chainHeads(records: readonly LoggedRecord[]): Map<number, Map<number, string>> {
  const byPartition = new Map<number, LoggedRecord[]>();
  for (const record of records) {
    const list = byPartition.get(record.partition) ?? [];
    list.push(record);
    byPartition.set(record.partition, list);
  }
  const heads = new Map<number, Map<number, string>>();
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    let head: Buffer = Buffer.alloc(32);
    const out = new Map<number, string>();
    for (const record of list) {
      const offset = Buffer.alloc(8);
      offset.writeBigInt64BE(BigInt(record.offset));
      head = createHash('sha256').update(head).update(offset).update(record.value ?? Buffer.alloc(0)).digest();
      out.set(record.offset, head.toString('hex'));
    }
    heads.set(partition, out);
  }
  return heads;
}
