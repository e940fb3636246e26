// Integration: Kafka, registry, PostgreSQL, Redis
// Issue 13, defect 2: a burst of invalid records larger than the DLQ topic's max.message.bytes in
// one fetch. Before: one DLQ send, refused as too large, retried forever, lag stuck. Now: the
// aggregator reads the DLQ topic's limit at start and splits its sends; the partition moves on and
// every invalid record is in the DLQ. (The shared broker allows 10 MB messages, so the test's DLQ
// topic is created with a 64 KiB max.message.bytes.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';
import { start } from '../../src/aggregate/aggregate-role.js';
import { DLQ_HEADER_OFFSET, DLQ_HEADER_PARTITION } from '../../src/aggregate/dlq-producer.js';
import { openDrillClients } from './support/drill-clients.js';
import { readTopic } from './support/vote-log.js';
import { testConfig } from '../support/test-config.js';
import { storedOffsets, waitCaughtUp } from '../support/caught-up.js';
import { withAdmin } from '../support/test-topics.js';

const config = testConfig('dlq-burst', { TALLY_VOTES_PARTITIONS: '1' });
const topic = config.kafka.votesTopic;
const RECORDS = 300;
const VALUE_BYTES = 5000; // 1.5 MB in all, fetched in one or two batches of up to 2 MB

test('1.5 MB of records with an unknown schema id, DLQ limit 64 KiB: all go to the DLQ and the partition moves on', async () => {
  await withAdmin(config, (admin) =>
    admin.createTopics({ waitForLeaders: true, topics: [{ topic: config.kafka.dlqTopic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(64 * 1024) }] }] }),
  );
  const clients = await openDrillClients(config, 'dlq-burst-test', createLogger('test', config));
  const { admin, producer, redis, kafka } = clients;
  try {
    // Wire format with a schema id no registry has: magic 0, id 2,147,483,001, then bytes.
    const messages = Array.from({ length: RECORDS }, (_, i) => {
      const value = Buffer.alloc(VALUE_BYTES, i % 251);
      value[0] = 0;
      value.writeUInt32BE(2_147_483_001, 1);
      return { key: 'burst-survey', value, partition: 0 };
    });
    for (let i = 0; i < RECORDS; i += 100) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100) });

    const aggregator = await start(config);
    try {
      await waitCaughtUp(admin, topic, storedOffsets(redis, topic), { timeoutMs: 90_000 });
    } finally {
      await aggregator.close();
    }
    const dlq = await readTopic(kafka, admin, config.kafka.dlqTopic);
    const origins = new Set(dlq.map((entry) => `${entry.headers[DLQ_HEADER_PARTITION]}/${entry.headers[DLQ_HEADER_OFFSET]}`));
    assert.equal(origins.size, RECORDS, 'every invalid record has its DLQ entry');
  } finally {
    await clients.close(['burst-survey']);
  }
});
