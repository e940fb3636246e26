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
import { deleteTestTopics } from './support/test-topics.js';
import { within } from './support/wait.js';

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
  try {
    const received = await within(
      new Promise<{ partition: number; value: string }>((resolve) => {
        void consumer.run({ eachMessage: async ({ partition, message }) => resolve({ partition, value: String(message.value) }) });
      }),
      { timeoutMs: 30_000, what: 'the produced record to come back through a consumer' },
    );
    assert.deepEqual(received, { partition: sent!.partition, value: 'hello kafka' });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await deleteTestTopics(config, admin);
    await admin.disconnect();
  }
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

test('PostgreSQL: the app role can write and read the migrated schema', async () => {
  const pool = createPool(config.postgres.url, 1);
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
    assert.equal(rows[0]!.user, new URL(config.postgres.url).username);
    // In a transaction rolled back at the end: nothing is left in the shared database.
    await client.query('BEGIN');
    const title = `stack-test-${randomUUID()}`;
    const inserted = await client.query<{ id: string; status: string }>('INSERT INTO surveys(title) VALUES ($1) RETURNING id, status', [title]);
    assert.equal(inserted.rows[0]!.status, 'draft', 'the column default of the migrated table');
    const read = await client.query<{ title: string }>('SELECT title FROM surveys WHERE id = $1', [inserted.rows[0]!.id]);
    assert.deepEqual(read.rows, [{ title }]);
  } finally {
    await client.query('ROLLBACK');
    client.release();
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
