// Integration: Kafka, registry, PostgreSQL, Redis
// End to end against the real aggregator: produce a stream, run `tally aggregate` as a child
// process until it has caught up, stop it with SIGTERM (its final checkpoints), then
// `tally verify` must pass, and fail once a checkpoint row or a live tally is tampered with.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { surveyHashKey, type SurveyPartial } from '../../src/partition-tally.js';
import type { VerifyReport } from '../../src/verify/verify-report.js';
import { committedOffsets, logEnds, waitCaughtUp } from '../support/caught-up.js';
import { envOf, testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';
import { sleep, waitFor, within } from '../support/wait.js';
import { deleteCheckpointsOf, tamperCheckpoint } from './support/checkpoint-admin.js';
import { produceVotes } from './support/produce-votes.js';

const RECORDS = 24_000;
const ROUNDS = 4;
const CHECKPOINT_EVERY = 2000;
const config = testConfig('verify-e2e', { TALLY_VOTES_PARTITIONS: '3', TALLY_CHECKPOINT_EVERY: String(CHECKPOINT_EVERY), TALLY_WORKER_THREADS: '2' });
const logger = createLogger('test', config);
const kafka = createKafka(config, 'verify-e2e', logger);
const admin = kafka.admin();
const redis = new Redis(config.redisUrl);
const pool = createPool(config.postgres.url, 1);
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
let surveyIds: string[] = [];
/** The aggregator children's environment: this test's configuration, metrics on any free port. */
const childEnv = { ...process.env, ...envOf(config, { TALLY_AGGREGATE_PORT: '0' }) };
/**
 * What the aggregator has processed: its group's committed offsets. It commits the next offset after
 * every durable write (README, Operations: `tally lag`), so committed = log end means caught up.
 */
const committed = committedOffsets(admin, config.kafka.consumerGroup, config.kafka.votesTopic);

/** A running `tally aggregate` child: its exit, and the end of its stderr for failure messages. */
function spawnAggregator(): { child: ChildProcess; exited: Promise<number | string | null>; stderr: () => string; check: () => void } {
  const child = spawn(process.execPath, [CLI, 'aggregate'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const check = () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`aggregator exited with ${child.exitCode ?? child.signalCode}; stderr: ${stderr}`);
  };
  return { child, exited, stderr: () => stderr, check };
}

async function runVerifyCli(...args: string[]): Promise<{ code: number; report: VerifyReport }> {
  const result = await promisify(execFile)(process.execPath, [CLI, 'verify', '--json', ...args], { env: childEnv, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  return { code: result.code, report: JSON.parse(result.stdout) as VerifyReport };
}

before(async () => {
  await admin.connect();
  // Rounds produced while the aggregator runs, so its batches stay small and it checkpoints often.
  surveyIds = await produceVotes(config, logger, { count: RECORDS / ROUNDS, surveys: 5, voters: 3000, shards: 4, poisonEvery: 250, seed: 1 });
  const { child, exited, stderr, check } = spawnAggregator();
  try {
    await waitCaughtUp(admin, config.kafka.votesTopic, committed, { timeoutMs: 60_000, check });
    for (let round = 2; round <= ROUNDS; round += 1) {
      await produceVotes(config, logger, { count: RECORDS / ROUNDS, surveyIds, voters: 3000, shards: 4, poisonEvery: 250, seed: round });
      await waitCaughtUp(admin, config.kafka.votesTopic, committed, { timeoutMs: 60_000, check });
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; aggregator stderr: ${stderr()}`);
  }
  child.kill('SIGTERM');
  assert.equal(await within(exited, { timeoutMs: 60_000, what: 'the aggregator to stop after SIGTERM' }), 0, `graceful stop; stderr: ${stderr()}`);
});

after(async () => {
  await redis.del(...surveyIds.map(surveyHashKey));
  redis.disconnect();
  await deleteCheckpointsOf(config.postgres.adminUrl, config.kafka.votesTopic);
  await pool.end();
  await deleteTestTopics(config, admin);
  await admin.deleteGroups([config.kafka.consumerGroup]).catch(() => undefined);
  await admin.disconnect();
});

test('after an aggregator run, verify passes: every checkpoint and live tally matches the recount', async () => {
  const { code, report } = await runVerifyCli();
  assert.deepEqual(report.differences, [], 'no difference');
  assert.equal(code, 0);
  assert.equal(report.records, RECORDS);
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_checkpoints WHERE topic = $1', [config.kafka.votesTopic]);
  // Each round brings every partition past CHECKPOINT_EVERY records at least once or twice.
  assert.ok(Number(rows[0]!.n) >= 2 * config.kafka.partitions, `checkpoints written: ${rows[0]!.n}`);
  assert.equal(report.checkpoints.checked, Number(rows[0]!.n));
  assert.equal(report.checkpoints.matched, report.checkpoints.checked);
  assert.deepEqual(report.live.surveys, [...surveyIds].sort());
  assert.equal(report.live.matched, report.live.checked);
  const outcomes = report.partitions.map((p) => p.outcomes);
  assert.ok(outcomes.reduce((n, o) => n + o.duplicate, 0) > 0 && outcomes.reduce((n, o) => n + o.invalid, 0) > 0, 'the stream has duplicates and poison pills');
});

/**
 * The table owner changes one checkpoint's `column` (support/checkpoint-admin.ts): verify must exit
 * 1 with exactly one difference of `kind`, naming the checkpoint and both values. Restored after.
 */
async function assertTamperedCheckpointFails(column: 'chain_head' | 'merkle_root', kind: string, rowIndex: number): Promise<void> {
  const { rows } = await pool.query<{ id: string; partition: number; last_offset: string; value: string }>(
    `SELECT id, partition, last_offset, ${column} AS value FROM audit_checkpoints WHERE topic = $1 AND ${column} IS NOT NULL ORDER BY id LIMIT 1 OFFSET $2`,
    [config.kafka.votesTopic, rowIndex],
  );
  const row = rows[0]!;
  const forged = `${row.value.startsWith('0') ? '1' : '0'}${row.value.slice(1)}`;
  await tamperCheckpoint(config.postgres.adminUrl, row.id, column, forged);
  try {
    const { code, report } = await runVerifyCli();
    assert.equal(code, 1);
    assert.equal(report.differenceCount, 1);
    const [difference] = report.differences;
    assert.deepEqual(
      { kind: difference!.kind, checkpointId: difference!.checkpointId, partition: difference!.partition, offset: difference!.offset, stored: difference!.stored, recount: difference!.recount },
      { kind, checkpointId: row.id, partition: row.partition, offset: row.last_offset, stored: forged, recount: row.value },
    );
  } finally {
    await tamperCheckpoint(config.postgres.adminUrl, row.id, column, row.value);
  }
}

test('a checkpoint row tampered with by the table owner makes verify fail, naming it', async () => {
  await assertTamperedCheckpointFails('chain_head', 'checkpoint-chain-head', 2);
});

test("a checkpoint's merkle_root altered by the table owner makes verify fail, naming it and the recounted root", async () => {
  await assertTamperedCheckpointFails('merkle_root', 'checkpoint-merkle-root', 1);
});

test('a live tally modified in Redis makes verify fail, naming the survey, partition and count', async () => {
  const key = surveyHashKey(surveyIds[0]!);
  const fields = await redis.hgetall(key);
  const [field, json] = Object.entries(fields)[0]!;
  const honest = JSON.parse(json) as SurveyPartial;
  const question = Object.keys(honest.votes)[0]!;
  const option = Object.keys(honest.votes[question]!)[0]!;
  const count = honest.votes[question]![option]!;
  const forged: SurveyPartial = { ...honest, votes: { ...honest.votes, [question]: { ...honest.votes[question], [option]: count + 1 } } };
  await redis.hset(key, field, JSON.stringify(forged));
  try {
    const { code, report } = await runVerifyCli('--survey', surveyIds[0]!);
    assert.equal(code, 1);
    const [difference] = report.differences;
    assert.equal(difference!.kind, 'live-tally');
    assert.equal(difference!.surveyId, surveyIds[0]);
    assert.equal(difference!.partition, Number(field));
    assert.equal(difference!.offset, honest.nextOffset);
    assert.equal(difference!.detail, `votes.${question}.${option}: recount ${count}, live ${count + 1}`);
  } finally {
    await redis.hset(key, field, json);
  }
});

test('verify passes while the aggregator runs and votes keep arriving (live tallies behind the captured end)', async () => {
  // Everything so far was counted by the earlier aggregator: this one must be seen counting records
  // produced after it started, or the live tallies and checkpoints below would all be old ones.
  const before = await logEnds(admin, config.kafka.votesTopic);
  const { child, exited, stderr, check } = spawnAggregator();
  let producing = true;
  let rounds = 0;
  const producer = (async () => {
    while (producing) {
      rounds += 1;
      await produceVotes(config, logger, { count: 1500, surveyIds, voters: 3000, shards: 4, poisonEvery: 250, seed: 100 + rounds });
      await sleep(100); // pacing: a trickle of rounds, not a measurement
    }
  })();
  try {
    // This aggregator committed past the log end it started at, on every partition.
    await waitFor(
      async (seen) => {
        check();
        const next = await committed();
        seen(Object.fromEntries([...before].map(([p, end]) => [`p${p}`, `${next.get(p)}/${end}`])));
        return [...before].every(([p, end]) => (next.get(p) ?? 0) > end);
      },
      { timeoutMs: 60_000, what: 'the new aggregator to commit records produced after it started (committed/start end)', intervalMs: 200 },
    );
    const checkpoints = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_checkpoints WHERE topic = $1', [config.kafka.votesTopic]);
    const { code, report } = await runVerifyCli();
    assert.deepEqual(report.differences, [], `differences while running; aggregator stderr: ${stderr()}`);
    assert.equal(code, 0);
    assert.ok(rounds >= 2, 'votes were arriving during the run');
    assert.ok(report.live.checked > 0 && report.checkpoints.checked > 0);
    assert.ok(report.checkpoints.checked >= Number(checkpoints.rows[0]!.n), 'the checkpoints written so far, the new aggregator\'s included, were checked');
    assert.ok(report.records > RECORDS, `the recount covers records produced while this aggregator ran (${report.records} > ${RECORDS})`);
  } finally {
    producing = false;
    await producer;
    child.kill('SIGTERM');
    await within(exited, { timeoutMs: 60_000, what: 'the aggregator to stop after SIGTERM' });
  }
});
