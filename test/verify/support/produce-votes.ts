// Produces a synthetic but realistic vote stream with VoteCodec + kafkajs: several surveys, a
// pool of voters (so some votes are duplicates), a few regions, a sprinkling of poison pills.
// Deterministic for a given seed, so runs are comparable.
import { randomUUID } from 'node:crypto';
import type { TallyConfig } from '../../../src/config.js';
import { createKafka, ensureTopics } from '../../../src/kafka.js';
import type { Logger } from '../../../src/logger.js';
import { partitionKeyFor } from '../../../src/partition-key.js';
import { VoteCodec } from '../../../src/vote-codec.js';

export interface StreamShape {
  count: number;
  surveys?: number;
  voters?: number;
  /** Hot-survey shards per survey (keys `surveyId#shard`), spreading each over partitions. */
  shards?: number;
  /** One in this many records is a poison pill (0: none). */
  poisonEvery?: number;
  seed?: number;
  batchSize?: number;
  /** Reuse these surveys (a later round of the same stream) instead of making new ones. */
  surveyIds?: string[];
}

const REGIONS = ['EU', 'US', 'APAC', null, null];

/** mulberry32: a tiny seeded generator, enough for test data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Creates the topic if needed and produces `count` records; returns the survey ids used. */
export async function produceVotes(config: TallyConfig, logger: Logger, shape: StreamShape): Promise<string[]> {
  const { count, surveys = 12, voters = 40_000, shards = 1, poisonEvery = 997, seed = 42, batchSize = 5000 } = shape;
  const next = random(seed);
  const tag = randomUUID().slice(0, 8);
  const surveyIds = shape.surveyIds ?? Array.from({ length: surveys }, (_, i) => `bench-${tag}-${i}`);
  const kafka = createKafka(config, 'produce-votes', logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  await admin.disconnect();
  const codec = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
  await codec.register();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const castAt = Date.now();
  try {
    for (let sent = 0; sent < count; ) {
      const messages: { key: string; value: Buffer | null }[] = [];
      for (let i = 0; i < batchSize && sent < count; i += 1, sent += 1) {
        const surveyId = surveyIds[Math.floor(next() * surveyIds.length)]!;
        const voterId = `voter-${Math.floor(next() * voters)}`;
        if (poisonEvery > 0 && sent % poisonEvery === poisonEvery - 1) {
          messages.push({ key: surveyId, value: Buffer.from(`poison ${sent}`) });
          continue;
        }
        const answers: Record<string, string[]> = { q1: [`o${Math.floor(next() * 4)}`] };
        if (next() < 0.5) answers.q2 = [`o${Math.floor(next() * 3)}`, 'o9'];
        const value = codec.encode({
          voteId: `${tag}-${sent}`,
          surveyId,
          voterId,
          answers,
          region: REGIONS[Math.floor(next() * REGIONS.length)]!,
          castAt: castAt + Math.floor(next() * 180_000),
        });
        messages.push({ key: partitionKeyFor(surveyId, voterId, shards), value });
      }
      await producer.send({ topic: config.kafka.votesTopic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return surveyIds;
}
