// Integration: Kafka, registry, PostgreSQL, Redis
// Issue 13, defect 1: Redis loses every partial (FLUSHDB, as a restart with --save "" does) while
// the aggregator runs, and again while it is stopped: the partials come back without another vote,
// through the periodic check (running) and the republish at open (restart). The test uses its own
// Redis database (13), so its FLUSHDB touches no other test's keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';
import { surveyHashKey } from '../../src/partition-tally.js';
import { partitionStatusKey } from '../../src/aggregate/partial-publisher.js';
import { AggregatorProcess, freePort } from './support/aggregator-process.js';
import { VoteGenerator } from '../../bench/aggregate/vote-generator.js';
import { openDrillClients } from './support/drill-clients.js';
import { envOf, testConfig } from '../support/test-config.js';
import { storedOffsets, waitCaughtUp } from '../support/caught-up.js';
import { waitFor } from '../support/wait.js';

const REDIS_DB = 13;
const config = testConfig('partials-repair', {
  TALLY_VOTES_PARTITIONS: '3',
  TALLY_REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}`,
  TALLY_PARTIALS_CHECK_MS: '300',
});
const topic = config.kafka.votesTopic;

test('FLUSHDB while running and while stopped: every partial comes back, equal to what it was', async () => {
  const clients = await openDrillClients(config, 'partials-repair-test', createLogger('test', config));
  const { admin, producer, codec, redis } = clients;
  const generator = new VoteGenerator(
    { runTag: topic, surveys: 5, zipfExponent: 0.5, questions: 2, options: 3, duplicateRatio: 0.1, invalidRatio: 0, followUpRatio: 0, hotShards: 3, regions: ['EU'], seed: 13 },
    { schemaId: codec.id, encode: (vote) => codec.encode(vote) },
  );
  /** Every survey's hash (partition → partial JSON) and the status hash, as Redis holds them now. */
  const snapshot = async () => {
    const out: Record<string, Record<string, string>> = {};
    for (const surveyId of generator.surveyIds) out[surveyId] = await redis.hgetall(surveyHashKey(surveyId));
    const statuses = await redis.hgetall(partitionStatusKey(topic));
    return { partials: out, offsets: Object.fromEntries(Object.entries(statuses).map(([p, json]) => [p, (JSON.parse(json) as { nextOffset: string }).nextOffset])) };
  };
  /** The partials without their writtenAt (a republish is a new write time, not new counts). */
  const counts = (partials: Record<string, Record<string, string>>) =>
    Object.fromEntries(
      Object.entries(partials).map(([surveyId, byPartition]) => [
        surveyId,
        Object.fromEntries(Object.entries(byPartition).map(([partition, json]) => [partition, { ...(JSON.parse(json) as object), writtenAt: 0 }])),
      ]),
    );

  // Child processes: a second aggregator in this process cannot load RocksDB in new worker threads.
  const spawnAggregator = async (checkMs: number) => {
    const child = new AggregatorProcess(envOf(config, { TALLY_PARTIALS_CHECK_MS: String(checkMs) }), await freePort());
    await child.start();
    return child;
  };
  let aggregator = await spawnAggregator(300);
  try {
    const records = generator.nextBatch(3000);
    await producer.send({ topic, acks: -1, messages: records.map((r, i) => ({ key: r.key, value: r.value, partition: i % 3 })) });
    await waitCaughtUp(admin, topic, storedOffsets(redis, topic), { timeoutMs: 60_000 });
    const before = await snapshot();
    assert.equal(Object.keys(before.offsets).length, 3);
    assert.ok(Object.values(before.partials).every((byPartition) => Object.keys(byPartition).length > 0), 'every survey has partials');

    // 1. Running, no new vote: the periodic check finds the status gone and republishes.
    assert.equal(await redis.flushdb(), 'OK');
    await waitFor(async () => JSON.stringify(counts((await snapshot()).partials)) === JSON.stringify(counts(before.partials)), {
      timeoutMs: 30_000,
      what: 'every partial republished after FLUSHDB',
    });
    assert.deepEqual((await snapshot()).offsets, before.offsets, 'the status hash is back at the stored offsets');
    const metrics = await aggregator.metrics();
    assert.match(metrics, new RegExp(`tally_partials_repairs_total\\{topic="${topic}",partition="\\d"[^}]*\\} [1-9]`));
    assert.match(metrics, new RegExp(`tally_partials_behind_records\\{topic="${topic}",partition="0"[^}]*\\} 0\n`));

    // 2. Stopped, Redis emptied, started again with nothing new in the log: republished at open.
    assert.equal(await aggregator.stop(), 0);
    await redis.flushdb();
    aggregator = await spawnAggregator(3_600_000);
    await waitFor(async () => JSON.stringify(counts((await snapshot()).partials)) === JSON.stringify(counts(before.partials)), {
      timeoutMs: 30_000,
      what: 'every partial republished when the partitions were opened',
    });
  } finally {
    if (aggregator.running) await aggregator.stop();
    aggregator.close();
    await clients.close(generator.surveyIds);
  }
});
