// Integration: Kafka, registry, PostgreSQL, Redis
// Every service of the stack is reachable through the project's own clients (RocksDB, embedded,
// is checked by the unit test rocksdb-worker.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createKafka, ensureTopics } from '../src/kafka.js';
import { createLogger } from '../src/logger.js';
import { createPool } from '../src/db/postgres.js';
import { VoteCodec, type VoteCast } from '../src/vote-codec.js';
import { testConfig } from './support/test-config.js';

const config = testConfig('stack');
const logger = createLogger('test', config);

test('Kafka: create topics, produce and consume a record', async () => {
  const kafka = createKafka(config, 'stack-test', logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  await ensureTopics(admin, config); // idempotent
  const meta = await admin.fetchTopicMetadata({ topics: [config.kafka.votesTopic] });
  assert.equal(meta.topics[0]!.partitions.length, config.kafka.partitions);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const [sent] = await producer.send({ topic: config.kafka.votesTopic, acks: -1, messages: [{ key: 'k', value: 'hello kafka' }] });
  const consumer = kafka.consumer({ groupId: config.kafka.consumerGroup });
  await consumer.connect();
  await consumer.subscribe({ topic: config.kafka.votesTopic, fromBeginning: true });
  const received = await new Promise<{ partition: number; value: string }>((resolve) => {
    void consumer.run({ eachMessage: async ({ partition, message }) => resolve({ partition, value: String(message.value) }) });
  });
  assert.deepEqual(received, { partition: sent!.partition, value: 'hello kafka' });
  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] });
  await admin.disconnect();
});

test('Schema registry: register the vote schema, encode, and decode through the registry client', async () => {
  const codec = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
  const id = await codec.register();
  assert.equal(await codec.register(), id, 'registering the same schema twice returns the same id');
  const vote: VoteCast = { voteId: randomUUID(), surveyId: '42', voterId: 'abc', answers: { q1: ['o1', 'o2'] }, region: 'EU', castAt: 1_700_000_000_000 };
  const bytes = codec.encode(vote);
  assert.equal(bytes[0], 0, 'Confluent magic byte');
  assert.equal(bytes.readUInt32BE(1), id);
  // The registry client's own decoder reads our wire format: proof the format is the standard one.
  assert.deepEqual({ ...(await codec.registry.decode(bytes)) }, vote);
  // And a fresh codec resolves the writer schema by id from the registry.
  const fresh = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
  assert.deepEqual({ ...(await fresh.decode(bytes)) }, vote);
});

test('PostgreSQL: the app role can query the migrated schema', async () => {
  const pool = createPool(config.postgres.url, 1);
  try {
    const { rows } = await pool.query<{ user: string; n: string }>('SELECT current_user AS user, count(*) AS n FROM surveys');
    assert.equal(rows[0]!.user, new URL(config.postgres.url).username);
    assert.ok(Number(rows[0]!.n) >= 0);
  } finally {
    await pool.end();
  }
});

test('Redis: a round trip through ioredis', async () => {
  const redis = new Redis(config.redisUrl);
  try {
    const key = `tally-test:${randomUUID()}`;
    await redis.set(key, 'value', 'EX', 30);
    assert.equal(await redis.get(key), 'value');
    await redis.del(key);
  } finally {
    redis.disconnect();
  }
});
