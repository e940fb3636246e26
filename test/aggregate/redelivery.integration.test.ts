// Integration: Kafka, registry, PostgreSQL, Redis
// Acceptance: records below the offset stored in RocksDB are never counted again, even when Kafka
// would redeliver them (the group's committed offset reset to 0 while the aggregator is stopped).
// Also checks the checkpoint rows of the graceful stops: contiguous ranges, digests of the state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { openDrillClients } from './support/drill-clients.js';
import { createPool } from '../../src/db/postgres.js';
import { talliesDigest } from '../../src/partition-tally.js';
import { readPartitionState } from '../../src/aggregate/partition-state-reader.js';
import { partitionDir } from '../../src/aggregate/partition-store.js';
import { VoteGenerator } from '../../bench/aggregate/vote-generator.js';
import { diffTallies, formatDifferences } from '../../bench/aggregate/tally-diff.js';
import { envOf, testConfig } from '../support/test-config.js';
import { AggregatorProcess, freePort } from './support/aggregator-process.js';
import { produceRecords, redisTallies, rocksdbTotals } from './support/vote-log.js';
import { storedOffsets, waitCaughtUp } from '../support/caught-up.js';

const config = testConfig('redelivery', { TALLY_VOTES_PARTITIONS: '3', TALLY_CHECKPOINT_EVERY: '1000' });
const topic = config.kafka.votesTopic;

test('group offsets reset to 0 while stopped: nothing is counted twice, new records still count', async () => {
  const clients = await openDrillClients(config, 'redelivery-test', createLogger('test', config));
  const { admin, producer, redis, codec } = clients;
  const pg = createPool(config.postgres.url, 1);
  const generator = new VoteGenerator(
    { runTag: topic, surveys: 3, zipfExponent: 1, questions: 2, options: 3, duplicateRatio: 0.1, invalidRatio: 0.02, followUpRatio: 0.05, hotShards: 2, regions: ['EU', 'NA'], seed: 42 },
    { schemaId: codec.id, encode: (vote) => codec.encode(vote) },
  );
  const aggregator = new AggregatorProcess(envOf(config), await freePort(), join(config.aggregate.dataDir, 'aggregate.log'));
  try {
    await produceRecords(producer, topic, generator.nextBatch(5000));
    await aggregator.start();
    await waitCaughtUp(admin, topic, storedOffsets(redis, topic), { timeoutMs: 60_000 });
    assert.equal(await aggregator.stop(), 0);
    const before = await rocksdbTotals(config.aggregate.dataDir, topic);
    assert.deepEqual(before.outcomes, generator.expected.outcomes);

    // Kafka now wants to redeliver everything from offset 0.
    const partitions = [...before.nextOffsets.keys()];
    await admin.setOffsets({ groupId: config.kafka.consumerGroup, topic, partitions: partitions.map((partition) => ({ partition, offset: '0' })) });
    const committed = await admin.fetchOffsets({ groupId: config.kafka.consumerGroup, topics: [topic] });
    assert.ok(committed[0]!.partitions.every((p) => p.offset === '0'), 'the group offset really is 0');

    await produceRecords(producer, topic, generator.nextBatch(1000));
    await aggregator.start();
    await waitCaughtUp(admin, topic, storedOffsets(redis, topic), { timeoutMs: 60_000 });
    const differences = diffTallies(generator.expected.surveys, await redisTallies(redis, generator.surveyIds));
    assert.deepEqual(differences, [], formatDifferences(differences));
    assert.equal(await aggregator.stop(), 0);

    const after = await rocksdbTotals(config.aggregate.dataDir, topic);
    assert.deepEqual(after.outcomes, generator.expected.outcomes, 'outcomes count each record once');
    assert.deepEqual(diffTallies(generator.expected.surveys, after.tallies), []);
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    assert.deepEqual(after.nextOffsets, ends);

    // Checkpoints: per partition the ranges tile the log from 0, and the newest row's digest is
    // the digest of the stored tallies. How many rows a partition has depends on where the random
    // survey ids hash to (a partition may hold a few records, written in one run only), so only a
    // partition with records must have one.
    const { rows } = await pg.query<{ partition: number; first_offset: string; last_offset: string; records: string; tallies_digest: string }>(
      'SELECT partition, first_offset, last_offset, records, tallies_digest FROM audit_checkpoints WHERE topic = $1 ORDER BY partition, last_offset',
      [topic],
    );
    for (const partition of partitions) {
      const own = rows.filter((row) => row.partition === partition);
      if (ends.get(partition) === 0) {
        assert.equal(own.length, 0, `partition ${partition} has no records, so no checkpoints`);
        continue;
      }
      assert.ok(own.length >= 1, `partition ${partition} has checkpoints`);
      let expectedFirst = 0;
      for (const row of own) {
        assert.equal(Number(row.first_offset), expectedFirst);
        assert.equal(Number(row.records), Number(row.last_offset) - Number(row.first_offset) + 1);
        expectedFirst = Number(row.last_offset) + 1;
      }
      assert.equal(expectedFirst, ends.get(partition));
      const state = await readPartitionState(partitionDir(config.aggregate.dataDir, topic, partition));
      const digest = talliesDigest([...state.surveys].map(([surveyId, tally]) => ({ surveyId, ...tally })));
      assert.equal(own.at(-1)!.tallies_digest, digest);
    }
  } finally {
    await aggregator.crash();
    await clients.close(generator.surveyIds);
    await pg.end();
  }
});
