// Integration: Kafka, registry, PostgreSQL, Redis
// Issue 13, defect 4: the votes topic is deleted and recreated under the same name while the
// aggregator is stopped. Before, the restarted aggregator skipped the new topic's records below
// its stored offset (votes silently lost). Now the partition stops with TALLY_ERR_TOPIC_ID naming
// the stored and the current topic id, and counts nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { partitionStatusKey, type PartitionStatus } from '../../src/aggregate/partial-publisher.js';
import { fetchTopicId } from '../../src/topic-id.js';
import { VoteGenerator } from '../../bench/aggregate/vote-generator.js';
import { AggregatorProcess, freePort } from './support/aggregator-process.js';
import { openDrillClients } from './support/drill-clients.js';
import { envOf, testConfig } from '../support/test-config.js';
import { storedOffsets, waitCaughtUp } from '../support/caught-up.js';
import { createTestTopics } from '../support/test-topics.js';
import { waitFor } from '../support/wait.js';

const config = testConfig('topic-recreated', { TALLY_VOTES_PARTITIONS: '1' });
const topic = config.kafka.votesTopic;

test('a recreated votes topic: the partition stops with TALLY_ERR_TOPIC_ID naming both ids, and counts nothing', async () => {
  const clients = await openDrillClients(config, 'topic-recreated-test', createLogger('test', config));
  const { admin, producer, codec, redis } = clients;
  const generator = new VoteGenerator(
    { runTag: topic, surveys: 2, zipfExponent: 0.5, questions: 1, options: 2, duplicateRatio: 0, invalidRatio: 0, followUpRatio: 0, hotShards: 1, regions: ['EU'], seed: 4 },
    { schemaId: codec.id, encode: (vote) => codec.encode(vote) },
  );
  const logPath = join(mkdtempSync(join(tmpdir(), 'tally-topic-recreated-')), 'aggregate.log');
  const spawnAggregator = async () => {
    const child = new AggregatorProcess(envOf(config, { TALLY_LOG_LEVEL: 'info' }), await freePort(), logPath);
    await child.start();
    return child;
  };
  const status = async () => JSON.parse((await redis.hget(partitionStatusKey(topic), '0'))!) as PartitionStatus;
  let aggregator = await spawnAggregator();
  try {
    await producer.send({ topic, acks: -1, messages: generator.nextBatch(50).map((r) => ({ key: r.key, value: r.value })) });
    await waitCaughtUp(admin, topic, storedOffsets(redis, topic), { timeoutMs: 60_000 });
    const oldId = await fetchTopicId(config.kafka.brokers, topic);
    assert.equal((await status()).topicId, oldId, 'the Redis status carries the topic id');
    assert.equal(await aggregator.stop(), 0);

    await admin.deleteTopics({ topics: [topic] });
    await waitFor(async () => !(await admin.listTopics()).includes(topic), { timeoutMs: 60_000, what: 'the topic deleted' });
    await waitFor(async () => createTestTopics(config, admin).then(() => true), { timeoutMs: 60_000, what: 'the topic recreated', retryOnError: true });
    const newId = await fetchTopicId(config.kafka.brokers, topic);
    assert.notEqual(newId, oldId);
    await producer.send({ topic, acks: -1, messages: generator.nextBatch(10).map((r) => ({ key: r.key, value: r.value })) });

    aggregator = await spawnAggregator();
    const line = await waitFor(
      () => readFileSync(logPath, 'utf8').split('\n').find((l) => l.includes('"code":"TALLY_ERR_TOPIC_ID"')),
      { timeoutMs: 60_000, what: 'the partition stopped with TALLY_ERR_TOPIC_ID' },
    );
    assert.ok(line.includes(oldId) && line.includes(newId), `names both ids: ${line}`);
    assert.equal((await status()).nextOffset, '50', 'nothing of the new topic was counted or skipped');
  } finally {
    if (aggregator.running) await aggregator.stop();
    aggregator.close();
    await clients.close(generator.surveyIds);
  }
});
