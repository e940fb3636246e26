// Integration: Kafka
// The batched producer on real Kafka: many concurrent votes go out in few producer.send calls
// (each at most maxBatch), every vote learns its exact partition and offset, and close() sends
// what is still queued before disconnecting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { createIngestMetrics } from '../../src/ingest/ingest-metrics.js';
import { VoteProducer } from '../../src/ingest/vote-producer.js';
import { testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';
import { within } from '../support/wait.js';
import { partitionOfKey } from './support/ingest-harness.js';

const config = testConfig('ingest-producer');
const logger = createLogger('test', config);
const kafka = createKafka(config, 'test-producer', logger);
const registry = createMetricsRegistry('ingest-test');
const metrics = createIngestMetrics(registry);
const MAX_BATCH = 200;
let producer: VoteProducer;

before(async () => {
  producer = new VoteProducer(kafka, config, logger, metrics, { maxBatch: MAX_BATCH, lingerMs: 2, maxQueued: 10_000 });
  await producer.start();
});

after(async () => {
  await producer.close();
  await deleteTestTopics(config);
});

async function sends(): Promise<{ count: number; sum: number }> {
  const { values } = await metrics.batchSize.get();
  return { count: values.find((v) => v.metricName?.endsWith('_count'))!.value, sum: values.find((v) => v.metricName?.endsWith('_sum'))!.value };
}

test('2,000 concurrent votes go out in a few batched sends, each with its exact partition and offset', async (t) => {
  const before = await sends();
  const keys = Array.from({ length: 2000 }, (_, i) => `survey-${i % 7}`);
  const started = performance.now();
  const acks = await Promise.all(keys.map((key, i) => producer.send(key, Buffer.from(`vote-${i}`))));
  const elapsedMs = performance.now() - started;
  const after = await sends();
  const batches = after.count - before.count;
  assert.equal(after.sum - before.sum, 2000, 'every vote in exactly one send');
  assert.ok(batches >= 2000 / MAX_BATCH && batches <= 2000 / 10, `${batches} sends for 2000 votes`);
  t.diagnostic(`2000 votes in ${batches} sends, acknowledged in ${Math.round(elapsedMs)} ms`);

  const seen = new Set<string>();
  acks.forEach((ack, i) => {
    assert.equal(ack.partition, partitionOfKey(keys[i]!, config.kafka.partitions));
    const position = `${ack.partition}@${ack.offset}`;
    assert.ok(!seen.has(position), `offset ${position} given twice`);
    seen.add(position);
  });
  // Offsets are exact: fetch the records at the acknowledged positions and compare values.
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(config.kafka.votesTopic);
  await admin.disconnect();
  const perPartition = new Map<number, number>();
  for (const ack of acks) perPartition.set(ack.partition, (perPartition.get(ack.partition) ?? 0) + 1);
  for (const end of ends) assert.equal(Number(end.high), perPartition.get(end.partition) ?? 0, `partition ${end.partition} holds exactly its acks`);
  const consumer = kafka.consumer({ groupId: `${config.kafka.consumerGroup}-check` });
  await consumer.connect();
  await consumer.subscribe({ topic: config.kafka.votesTopic, fromBeginning: true });
  const valueAt = new Map<string, string>();
  try {
    await within(
      new Promise<void>((resolve) => {
        void consumer.run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) valueAt.set(`${batch.partition}@${m.offset}`, String(m.value));
            if (valueAt.size >= 2000) resolve();
          },
        });
      }),
      { timeoutMs: 30_000, what: () => `the 2000 records back from a consumer (got ${valueAt.size})` },
    );
  } finally {
    await consumer.disconnect();
  }
  acks.forEach((ack, i) => assert.equal(valueAt.get(`${ack.partition}@${ack.offset}`), `vote-${i}`));
});

test('close() sends the queued votes before disconnecting', async () => {
  const closing = new VoteProducer(kafka, config, logger, metrics, { maxBatch: 50, lingerMs: 50, maxQueued: 1000 });
  await closing.start();
  const pending = Array.from({ length: 120 }, (_, i) => closing.send('survey-close', Buffer.from(`late-${i}`)));
  await closing.close();
  const acks = await Promise.all(pending);
  assert.equal(new Set(acks.map((a) => a.offset)).size, 120);
  await assert.rejects(closing.send('survey-close', Buffer.from('after close')), /unavailable/i);
});
