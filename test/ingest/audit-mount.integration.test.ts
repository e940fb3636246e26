// Integration: Kafka, registry, PostgreSQL, Redis
// The public API (`tally ingest`) serves the verify role's GET /v1/audit/checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../../src/ingest/ingest-role.js';
import { createPool } from '../../src/db/postgres.js';
import { testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';

test('tally ingest serves the audit checkpoints with query filters', async () => {
  const config = testConfig('audit-mount');
  const pool = createPool(config.postgres.url, 1);
  await pool.query(
    `INSERT INTO audit_checkpoints (topic, partition, first_offset, last_offset, records, chain_head, tallies_digest)
     VALUES ($1, 0, 0, 9, 10, 'head-0-9', 'd1'), ($1, 1, 0, 4, 5, 'head-1-4', 'd2')`,
    [config.kafka.votesTopic],
  );
  const ingest = await start(config);
  try {
    const base = `${ingest.addresses[0]}/v1/audit/checkpoints`;
    const all = (await (await fetch(base)).json()) as { topic: string; checkpoints: { partition: number; chainHead: string }[] };
    assert.equal(all.topic, config.kafka.votesTopic);
    assert.deepEqual(all.checkpoints.map((c) => [c.partition, c.chainHead]), [[0, 'head-0-9'], [1, 'head-1-4']]);
    const one = (await (await fetch(`${base}?partition=1&limit=5`)).json()) as { checkpoints: { chainHead: string }[] };
    assert.deepEqual(one.checkpoints.map((c) => c.chainHead), ['head-1-4']);
    const bad = await fetch(`${base}?limit=0`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'TALLY_ERR_VALIDATION');
  } finally {
    await ingest.close();
    await pool.end();
    await deleteTestTopics(config);
  }
});
