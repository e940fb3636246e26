// Integration: PostgreSQL
// GET /v1/audit/checkpoints on a bare Fastify app with `inject`, against the real PostgreSQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { createPool } from '../../src/db/postgres.js';
import { auditRoutes } from '../../src/verify/audit-routes.js';
import { testConfig } from '../support/test-config.js';
import { deleteCheckpointsOf } from './support/checkpoint-admin.js';

const config = testConfig('audit-routes');
const topic = config.kafka.votesTopic;
const pool = createPool(config.postgres.url, 2);
let app: FastifyInstance;
const ids: string[] = [];

interface Page {
  topic: string;
  checkpoints: { id: string; partition: number; firstOffset: string; lastOffset: string; records: string; chainHead: string; talliesDigest: string; createdAt: string }[];
  next: string | null;
}

const head = (n: number) => n.toString(16).padStart(64, '0');

before(async () => {
  // Partition 0: three checkpoints; partition 1: two; plus one of another topic that must never show.
  const rows: [string, number, number, number][] = [
    [topic, 0, 0, 9],
    [topic, 1, 0, 4],
    [topic, 0, 10, 19],
    [topic, 1, 5, 12],
    [`${topic}-other`, 0, 0, 9],
    [topic, 0, 20, 2 ** 40],
  ];
  for (const [rowTopic, partition, first, last] of rows) {
    const { rows: inserted } = await pool.query<{ id: string }>(
      `INSERT INTO audit_checkpoints (topic, partition, first_offset, last_offset, records, chain_head, tallies_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [rowTopic, partition, first, last, last - first + 1, head(last), `digest-${last}`],
    );
    if (rowTopic === topic) ids.push(inserted[0]!.id);
  }
  app = Fastify();
  await app.register(auditRoutes(pool, config));
  await app.ready();
});

after(async () => {
  await app.close();
  await deleteCheckpointsOf(config.postgres.adminUrl, topic);
  await deleteCheckpointsOf(config.postgres.adminUrl, `${topic}-other`);
  await pool.end();
});

async function get(url: string): Promise<{ status: number; body: Page }> {
  const response = await app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json() as Page };
}

test('lists the topic\'s checkpoints in insertion order with their chain heads, int64 offsets as strings', async () => {
  const { status, body } = await get('/v1/audit/checkpoints');
  assert.equal(status, 200);
  assert.equal(body.topic, topic);
  assert.deepEqual(body.checkpoints.map((c) => c.id), ids);
  assert.equal(body.next, null, 'one page holds them all');
  const last = body.checkpoints.at(-1)!;
  assert.deepEqual(
    { partition: last.partition, firstOffset: last.firstOffset, lastOffset: last.lastOffset, records: last.records, chainHead: last.chainHead, talliesDigest: last.talliesDigest },
    { partition: 0, firstOffset: '20', lastOffset: String(2 ** 40), records: String(2 ** 40 - 19), chainHead: head(2 ** 40), talliesDigest: `digest-${2 ** 40}` },
  );
  assert.ok(!Number.isNaN(Date.parse(last.createdAt)));
});

test('filters by partition', async () => {
  const { body } = await get('/v1/audit/checkpoints?partition=1');
  assert.deepEqual(body.checkpoints.map((c) => [c.partition, c.lastOffset]), [[1, '4'], [1, '12']]);
});

test('pages with limit and after: `next` of one page starts the following one', async () => {
  const first = await get('/v1/audit/checkpoints?limit=2');
  assert.deepEqual(first.body.checkpoints.map((c) => c.id), ids.slice(0, 2));
  assert.equal(first.body.next, ids[1]);
  const second = await get(`/v1/audit/checkpoints?limit=2&after=${first.body.next}`);
  assert.deepEqual(second.body.checkpoints.map((c) => c.id), ids.slice(2, 4));
  const third = await get(`/v1/audit/checkpoints?limit=2&after=${second.body.next}`);
  assert.deepEqual(third.body.checkpoints.map((c) => c.id), ids.slice(4));
  assert.equal(third.body.next, null);
  const partitionPage = await get(`/v1/audit/checkpoints?partition=0&after=${ids[0]}`);
  assert.deepEqual(partitionPage.body.checkpoints.map((c) => c.lastOffset), ['19', String(2 ** 40)]);
});

test('rejects bad query parameters with 400', async () => {
  for (const query of ['partition=-1', 'partition=x', 'limit=0', 'limit=1001', 'after=1e3', 'after=-5']) {
    const response = await app.inject({ method: 'GET', url: `/v1/audit/checkpoints?${query}` });
    assert.equal(response.statusCode, 400, query);
  }
});
