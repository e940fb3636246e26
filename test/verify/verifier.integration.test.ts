// Integration: Kafka, registry, PostgreSQL, Redis
// A known stream produced to a real topic (VoteCodec + kafkajs), checkpoints in the
// real PostgreSQL and live partials in the real Redis, all written here by hand from the counting
// rules; `verify` must accept the honest history and name every tampering.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createPool } from '../../src/db/postgres.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { surveyHashKey, talliesDigest, type SurveyPartial } from '../../src/partition-tally.js';
import { VoteCodec } from '../../src/vote-codec.js';
import { verify } from '../../src/verify/verifier.js';
import type { VerifyReport } from '../../src/verify/verify-report.js';
import { testConfig } from '../support/test-config.js';
import { createTestTopics, deleteTestTopics } from '../support/test-topics.js';
import { deleteCheckpointsOf, tamperCheckpoint } from './support/checkpoint-admin.js';
import { referenceChainHeads } from './support/reference-chain.js';
import { vote, wireRecord } from './support/wire.js';

const config = testConfig('verify', { TALLY_VOTES_PARTITIONS: '2' });
const logger = createLogger('test', config);
const topic = config.kafka.votesTopic;
const tag = randomUUID().slice(0, 8);
const S1 = `s1-${tag}`;
const S2 = `s2-${tag}`;
const S3 = `s3-${tag}`;
const FOREIGN = `foreign-${tag}`;
const T0 = 1_700_000_000_000;
const M = Math.floor(T0 / 60_000);
const UNKNOWN_SCHEMA_ID = 2_147_483_000;

const kafka = createKafka(config, 'verify-test', logger);
const admin = kafka.admin();
const redis = new Redis(config.redisUrl);
const appPool = createPool(config.postgres.url, 2);

/** Records as produced, per partition, so the test can compute reference chain heads. */
const produced = new Map<number, (Buffer | null)[]>();
const checkpointIds = new Map<string, string>(); // `${partition}:${lastOffset}` → id
const livePartials = new Map<string, SurveyPartial>(); // `${surveyId}/${partition}` → partial

type Counts = Pick<SurveyPartial, 'surveyId' | 'responses' | 'votes' | 'regions'>;

// Hand-computed from docs/counting-rules.md for the stream below.
const S1_AFTER_3: Counts = { surveyId: S1, responses: 2, votes: { q1: { a: 1, b: 1 }, q2: { x: 1, y: 1 } }, regions: { EU: { responses: 1, votes: { q1: { a: 1 } } } } };
const S1_AFTER_7: Counts = {
  surveyId: S1,
  responses: 3,
  votes: { q1: { a: 2, b: 1 }, q2: { x: 2, y: 1 } },
  regions: { EU: { responses: 2, votes: { q1: { a: 2 } } }, US: { responses: 0, votes: { q2: { x: 1 } } } },
};
const S2_AFTER_2: Counts = { surveyId: S2, responses: 2, votes: { q1: { a: 2 } }, regions: {} };
const S2_AFTER_4: Counts = { surveyId: S2, responses: 3, votes: { q1: { a: 2, b: 1 } }, regions: { JP: { responses: 1, votes: { q1: { b: 1 } } } } };
const S3_AFTER_4: Counts = { surveyId: S3, responses: 1, votes: { q9: { z: 1 } }, regions: {} };

function partial(counts: Counts, partition: number, nextOffset: number, minutes: Record<string, number> = {}): SurveyPartial {
  return { ...counts, partition, nextOffset: String(nextOffset), minutes, lastCastAt: T0, writtenAt: Date.now() };
}

async function putLive(value: SurveyPartial, partition = value.partition): Promise<void> {
  await redis.hset(surveyHashKey(value.surveyId), String(partition), JSON.stringify(value));
}

async function insertCheckpoint(partition: number, firstOffset: number, lastOffset: number, chainHead: string, digest: string): Promise<void> {
  const { rows } = await appPool.query<{ id: string }>(
    `INSERT INTO audit_checkpoints (topic, partition, first_offset, last_offset, records, chain_head, tallies_digest)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [topic, partition, firstOffset, lastOffset, lastOffset - firstOffset + 1, chainHead, digest],
  );
  checkpointIds.set(`${partition}:${lastOffset}`, rows[0]!.id);
}

function heads(partition: number): string[] {
  return referenceChainHeads(produced.get(partition)!.map((value, offset) => ({ offset, value })));
}

before(async () => {
  await admin.connect();
  await createTestTopics(config, admin);
  const codec = new VoteCodec(config.registryUrl, topic);
  await codec.register();
  const unknownSchema = wireRecord(UNKNOWN_SCHEMA_ID, vote({ surveyId: S1, voterId: 'Z', answers: { q1: ['a'] } }));
  const p0 = [
    codec.encode(vote({ surveyId: S1, voterId: 'A', answers: { q1: ['a'] }, region: 'EU', castAt: T0 })), // accepted
    codec.encode(vote({ surveyId: S1, voterId: 'B', answers: { q1: ['b'], q2: ['x', 'y'] }, castAt: T0 + 60_000 })), // accepted
    codec.encode(vote({ surveyId: S1, voterId: 'A', answers: { q1: ['b'] }, castAt: T0 })), // duplicate
    null, // poison: tombstone
    Buffer.from('not a vote'), // poison: not the wire format
    unknownSchema, // poison: schema id the registry does not know
    codec.encode(vote({ surveyId: S1, voterId: 'A', answers: { q1: ['c'], q2: ['x'] }, region: 'US', castAt: T0 + 120_000 })), // accepted: q2 only
    codec.encode(vote({ surveyId: S1, voterId: 'C', answers: { q1: ['a'] }, region: 'EU', castAt: T0 })), // accepted
  ];
  const p1: [string, Buffer][] = [
    [S2, codec.encode(vote({ surveyId: S2, voterId: 'E', answers: { q1: ['a'] } }))],
    [S2, codec.encode(vote({ surveyId: S2, voterId: 'F', answers: { q1: ['a'] } }))],
    [S3, codec.encode(vote({ surveyId: S3, voterId: 'E', answers: { q9: ['z'] } }))],
    [S2, codec.encode(vote({ surveyId: S2, voterId: 'E', answers: { q1: ['b'] } }))], // duplicate
    [S2, codec.encode(vote({ surveyId: S2, voterId: 'G', answers: { q1: ['b'] }, region: 'JP' }))],
  ];
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: p0.map((value) => ({ key: S1, value, partition: 0 })) });
  await producer.send({ topic, acks: -1, messages: p1.map(([key, value]) => ({ key, value, partition: 1 })) });
  await producer.disconnect();
  produced.set(0, p0);
  produced.set(1, p1.map(([, value]) => value));

  // An honest aggregator's checkpoints, including two overlapping ranges on partition 1.
  await insertCheckpoint(0, 0, 3, heads(0)[3]!, talliesDigest([S1_AFTER_3]));
  await insertCheckpoint(0, 4, 7, heads(0)[7]!, talliesDigest([S1_AFTER_7]));
  await insertCheckpoint(1, 0, 2, heads(1)[2]!, talliesDigest([S2_AFTER_2, S3_AFTER_4]));
  await insertCheckpoint(1, 0, 4, heads(1)[4]!, talliesDigest([S2_AFTER_4, S3_AFTER_4]));

  // Its live partials, each published after the write of the survey's last accepted record (S3 at
  // offset 2 and S2 at offset 4 were written in one batch, so both partials say 5).
  const live = [
    partial(S1_AFTER_7, 0, 8, { [M]: 2, [M + 1]: 1, [M + 2]: 1 }),
    partial(S2_AFTER_4, 1, 5),
    partial(S3_AFTER_4, 1, 5),
  ];
  for (const value of live) {
    livePartials.set(`${value.surveyId}/${value.partition}`, value);
    await putLive(value);
  }
  // A survey of some other topic sharing this Redis.
  await redis.hset(surveyHashKey(FOREIGN), '0', JSON.stringify(partial({ surveyId: FOREIGN, responses: 9, votes: {}, regions: {} }, 0, 1)));
});

after(async () => {
  await redis.del(surveyHashKey(S1), surveyHashKey(S2), surveyHashKey(S3), surveyHashKey(FOREIGN));
  redis.disconnect();
  await deleteCheckpointsOf(config.postgres.adminUrl, topic);
  await appPool.end();
  await deleteTestTopics(config, admin);
  await admin.disconnect();
});

/** Runs the test body with one live partial replaced, and puts the honest one back afterwards. */
async function withLive(surveyId: string, partition: number, replace: (honest: SurveyPartial) => SurveyPartial | null, body: () => Promise<void>): Promise<void> {
  const honest = livePartials.get(`${surveyId}/${partition}`)!;
  const replacement = replace(structuredClone(honest));
  if (replacement === null) await redis.hdel(surveyHashKey(surveyId), String(partition));
  else await putLive(replacement, partition);
  try {
    await body();
  } finally {
    await putLive(honest);
  }
}

function firstDifference(report: VerifyReport) {
  assert.equal(report.ok, false, 'verify must fail');
  return report.differences[0]!;
}

test('an honest history: every checkpoint and live partial matches, with the recount computed by hand', async () => {
  const report = await verify(config, {}, logger);
  assert.deepEqual(report.differences, []);
  assert.equal(report.ok, true);
  assert.equal(report.records, 13);
  const [p0, p1] = report.partitions;
  assert.deepEqual(p0!.outcomes, { accepted: 4, duplicate: 1, invalid: 3 });
  assert.deepEqual(p1!.outcomes, { accepted: 4, duplicate: 1, invalid: 0 });
  assert.equal(p0!.chainHead, heads(0)[7]);
  assert.equal(p1!.chainHead, heads(1)[4]);
  assert.equal(p0!.talliesDigest, talliesDigest([S1_AFTER_7]));
  assert.deepEqual(report.checkpoints, { checked: 4, matched: 4 });
  assert.deepEqual([p0!.checkpointsChecked, p1!.checkpointsChecked], [2, 2]);
  assert.equal(report.live.checked, 3);
  assert.equal(report.live.matched, 3);
  assert.deepEqual(report.live.surveys, [S1, S2, S3]);
  assert.ok(report.live.skippedSurveys.includes(FOREIGN), 'a survey no record names is skipped, not compared');
});

test('--survey recounts that survey across partitions and compares only its live partials', async () => {
  const report = await verify(config, { survey: S1 }, logger);
  assert.equal(report.ok, true);
  assert.deepEqual(JSON.parse(JSON.stringify(report.survey)), S1_AFTER_7);
  assert.deepEqual(report.live.surveys, [S1]);
  assert.equal(report.live.checked, 1);
  assert.equal(report.checkpoints.checked, 4, 'checkpoints cover whole partitions, so they are still checked');
});

test('--partition recounts and checks one partition only', async () => {
  const report = await verify(config, { partition: 1 }, logger);
  assert.equal(report.ok, true);
  assert.deepEqual(report.partitions.map((p) => p.partition), [1]);
  assert.equal(report.records, 5);
  assert.deepEqual(report.checkpoints, { checked: 2, matched: 2 });
  assert.deepEqual(report.live.surveys, [S2, S3]);
});

test('the app role cannot UPDATE, DELETE or TRUNCATE checkpoints; the owner is stopped by the trigger', async () => {
  const id = checkpointIds.get('0:7')!;
  for (const sql of [
    `UPDATE audit_checkpoints SET chain_head = 'x' WHERE id = ${id}`,
    `DELETE FROM audit_checkpoints WHERE id = ${id}`,
    'TRUNCATE audit_checkpoints',
  ]) {
    await assert.rejects(appPool.query(sql), (error: { code?: string }) => error.code === '42501', `app role: ${sql}`);
  }
  const owner = new pg.Client({ connectionString: config.postgres.adminUrl });
  await owner.connect();
  try {
    await assert.rejects(owner.query(`UPDATE audit_checkpoints SET chain_head = 'x' WHERE id = ${id}`), /append-only/);
    await assert.rejects(owner.query(`DELETE FROM audit_checkpoints WHERE id = ${id}`), /append-only/);
  } finally {
    await owner.end();
  }
  const { rows } = await appPool.query<{ chain_head: string }>('SELECT chain_head FROM audit_checkpoints WHERE id = $1', [id]);
  assert.equal(rows[0]!.chain_head, heads(0)[7]);
});

test('a tampered checkpoint chain head fails verify, naming the checkpoint, partition and offset', async () => {
  const id = checkpointIds.get('0:7')!;
  const forged = 'f'.repeat(64);
  await tamperCheckpoint(config.postgres.adminUrl, id, 'chain_head', forged);
  try {
    const report = await verify(config, {}, logger);
    const difference = firstDifference(report);
    assert.equal(report.differenceCount, 1);
    assert.deepEqual(
      { kind: difference.kind, partition: difference.partition, offset: difference.offset, checkpointId: difference.checkpointId, recount: difference.recount, stored: difference.stored },
      { kind: 'checkpoint-chain-head', partition: 0, offset: '7', checkpointId: id, recount: heads(0)[7], stored: forged },
    );
    assert.deepEqual(report.checkpoints, { checked: 4, matched: 3 });
  } finally {
    await tamperCheckpoint(config.postgres.adminUrl, id, 'chain_head', heads(0)[7]!);
  }
});

test('a tampered checkpoint tallies digest fails verify', async () => {
  const id = checkpointIds.get('1:2')!;
  await tamperCheckpoint(config.postgres.adminUrl, id, 'tallies_digest', talliesDigest([S2_AFTER_4, S3_AFTER_4]));
  try {
    const difference = firstDifference(await verify(config, {}, logger));
    assert.equal(difference.kind, 'checkpoint-tallies-digest');
    assert.equal(difference.partition, 1);
    assert.equal(difference.offset, '2');
  } finally {
    await tamperCheckpoint(config.postgres.adminUrl, id, 'tallies_digest', talliesDigest([S2_AFTER_2, S3_AFTER_4]));
  }
});

test('a modified live tally fails verify and says which count differs', async () => {
  await withLive(S1, 0, (honest) => ({ ...honest, votes: { ...honest.votes, q1: { a: 3, b: 1 } } }), async () => {
    const report = await verify(config, {}, logger);
    const difference = firstDifference(report);
    assert.equal(difference.kind, 'live-tally');
    assert.equal(difference.surveyId, S1);
    assert.equal(difference.partition, 0);
    assert.equal(difference.offset, '8');
    assert.equal(difference.detail, 'votes.q1.a: recount 2, live 3');
  });
  await withLive(S2, 1, (honest) => ({ ...honest, nextOffset: '4' }), async () => {
    const report = await verify(config, {}, logger);
    // Compared at the partial's own nextOffset (4), where G's JP vote (offset 4) was not counted yet.
    const difference = report.differences.find((d) => d.kind === 'live-tally')!;
    assert.equal(difference.offset, '4');
    assert.equal(difference.detail, 'responses: recount 2, live 3; votes.q1.b: recount 0, live 1; regions.JP.responses: recount 0, live 1; regions.JP.votes.q1.b: recount 0, live 1');
  });
  await withLive(S1, 0, (honest) => ({ ...honest, minutes: { [M]: 2, [M + 2]: 1 } }), async () => {
    const difference = firstDifference(await verify(config, {}, logger));
    assert.equal(difference.detail, `minutes.${M + 1}: recount 1, live absent`);
  });
});

test('a live partial behind its partition\'s store (its publish was lost) fails verify, though it matches the recount at its own offset', async () => {
  // S2 as published after offset 2; the store went on to offset 4 (G's vote, accepted): checkpoint
  // 1:4 says the store reached offset 5, so the partial is stale.
  await withLive(S2, 1, () => partial(S2_AFTER_2, 1, 3), async () => {
    const report = await verify(config, {}, logger);
    assert.equal(report.differenceCount, 1, JSON.stringify(report.differences));
    const difference = firstDifference(report);
    assert.equal(difference.kind, 'live-behind-store');
    assert.equal(difference.surveyId, S2);
    assert.equal(difference.partition, 1);
    assert.equal(difference.offset, '3');
    assert.match(difference.detail, /accepted records up to offset 4/);
    assert.equal(report.live.matched, 3, 'at its own offset the partial is right: the old check passed');
  });
  // A survey not touched since its partial was published is not behind, whatever the store did.
  await withLive(S3, 1, () => partial(S3_AFTER_4, 1, 3), async () => {
    assert.deepEqual((await verify(config, {}, logger)).differences, []);
  });
});

test('a live tally ahead of the log, or missing, or unreadable, fails verify', async () => {
  await withLive(S2, 1, (honest) => ({ ...honest, nextOffset: '50' }), async () => {
    const difference = firstDifference(await verify(config, {}, logger));
    assert.equal(difference.kind, 'live-beyond-log-end');
    assert.equal(difference.offset, '50');
  });
  await withLive(S3, 1, () => null, async () => {
    const difference = firstDifference(await verify(config, {}, logger));
    assert.equal(difference.kind, 'live-missing');
    assert.equal(difference.surveyId, S3);
    assert.equal(difference.offset, '2');
  });
  await withLive(S1, 0, (honest) => ({ ...honest, partition: 1 }), async () => {
    const difference = firstDifference(await verify(config, {}, logger));
    assert.equal(difference.kind, 'live-unreadable');
  });
});

test('`tally verify --json` exits 0 when all matches and 1 on a difference, with a JSON report', async () => {
  const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
  const env = { ...process.env, TALLY_VOTES_TOPIC: topic, TALLY_LOG_LEVEL: 'warn', TALLY_SCHEMA_NOT_FOUND_GRACE_MS: '200' };
  const run = promisify(execFile);
  const clean = await run(process.execPath, [cli, 'verify', '--json', '--partition', '0'], { env });
  assert.equal(JSON.parse(clean.stdout).ok, true);
  await withLive(S1, 0, (honest) => ({ ...honest, responses: 4 }), async () => {
    const failed = await run(process.execPath, [cli, 'verify', '--json', '--partition', '0'], { env }).then(
      () => assert.fail('verify must exit non-zero'),
      (error: { code: number; stdout: string }) => error,
    );
    assert.equal(failed.code, 1);
    const report = JSON.parse(failed.stdout) as VerifyReport;
    assert.equal(report.differences[0]!.detail, 'responses: recount 3, live 4');
  });
  const missing = await run(process.execPath, [cli, 'verify', '--partition', '9'], { env }).catch((error: { code: number; stderr: string }) => error);
  assert.equal((missing as { code: number }).code, 2);
  assert.match((missing as { stderr: string }).stderr, /TALLY_ERR_VERIFY_INCOMPLETE: .*no partition 9/);
});
