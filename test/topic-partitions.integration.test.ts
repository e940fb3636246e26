// Integration: Kafka, registry, PostgreSQL, Redis
// Issue 13, defect 5: adding partitions re-hashes survey keys to other partitions while the one-vote
// ledger is per partition, so a voter's votes could count twice (and verify recounts the same
// way, so it passes). The first role to run on a topic records its partition count in PostgreSQL;
// aggregate and ingest refuse another count with TALLY_ERR_PARTITION_COUNT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPool } from '../src/db/postgres.js';
import { isTallyError } from '../src/errors.js';
import { start } from '../src/aggregate/aggregate-role.js';
import { closeIngestDeps, openIngestDeps } from '../src/ingest/ingest-deps.js';
import { createLogger } from '../src/logger.js';
import { testConfig } from './support/test-config.js';
import { createTestTopics, deleteTestTopics, withAdmin } from './support/test-topics.js';
import { waitFor } from './support/wait.js';

const config = testConfig('partition-count', { TALLY_VOTES_PARTITIONS: '2' });
const topic = config.kafka.votesTopic;

test('partitions added to the votes topic: aggregate and ingest refuse to run, naming both counts', async () => {
  const pool = createPool(config.postgres.url, 1);
  try {
    await createTestTopics(config);
    const aggregator = await start(config);
    await aggregator.close();
    const { rows } = await pool.query<{ partitions: number }>('SELECT partitions FROM topic_partitions WHERE topic = $1', [topic]);
    assert.deepEqual(rows, [{ partitions: 2 }], 'the first start recorded the count');

    await withAdmin(config, (admin) => admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }));

    await assert.rejects(start(config), (error) => {
      assert.ok(isTallyError(error, 'TALLY_ERR_PARTITION_COUNT'), String(error));
      assert.match(error.message, new RegExp(`topic ${topic} has 3 partitions, but 2 were recorded`));
      return true;
    });

    const deps = openIngestDeps(config, { logger: createLogger('ingest', config) });
    try {
      await waitFor(() => deps.producer.refusal !== null, { timeoutMs: 30_000, what: 'ingest refusing the changed partition count' });
      assert.ok(isTallyError(deps.producer.refusal, 'TALLY_ERR_PARTITION_COUNT'));
      assert.equal(deps.producer.available, false, 'no vote is produced');
    } finally {
      await closeIngestDeps(deps);
    }
  } finally {
    await pool.query('DELETE FROM topic_partitions WHERE topic = $1', [topic]);
    await pool.end();
    await deleteTestTopics(config);
  }
});
