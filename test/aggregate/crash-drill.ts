// The crash drill: a known vote stream (several surveys, one split over key shards, duplicates,
// follow-ups and every kind of poison pill, from bench/aggregate/vote-generator.ts with its own
// expected counts) is produced at a steady pace while the aggregator runs as a child process and
// is killed with SIGKILL at random moments and restarted. At the end the Redis partials and the
// RocksDB state must equal the expected counts exactly, the DLQ must hold every invalid record,
// a graceful SIGTERM must exit 0, and every checkpoint's chain head must match the log.
//
// Reusable: crash-recovery.integration.test.ts runs it with 30,000 votes and 5 kills,
// rebalance.integration.test.ts with 20,000 and a second instance; smoke-drill.ts runs it at any
// size from the command line (compiled to dist/test/aggregate/).
// Optionally a second aggregator instance (own data dir = another machine) joins mid-stream and
// leaves again, which moves partitions both ways.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.js';
import { openDrillClients } from './support/drill-clients.js';
import { createPool } from '../../src/db/postgres.js';
import { partitionStatusKey, type PartitionStatus } from '../../src/aggregate/partial-publisher.js';
import { DLQ_HEADER_OFFSET, DLQ_HEADER_PARTITION, DLQ_HEADER_REASON } from '../../src/aggregate/dlq-producer.js';
import type { OutcomeCounts } from '../../src/aggregate/worker-messages.js';
import { VoteGenerator, type GeneratedRecord } from '../../bench/aggregate/vote-generator.js';
import { Prng } from '../../bench/lib/prng.js';
import { diffTallies, formatDifferences, type CountDifference } from '../../bench/aggregate/tally-diff.js';
import { envOf, testConfig } from '../support/test-config.js';
import { AggregatorProcess, freePort } from './support/aggregator-process.js';
import { chainHeads, produceRecords, readTopic, redisTallies, rocksdbTotals } from './support/vote-log.js';
import { storedOffsets, waitCaughtUp } from '../support/caught-up.js';
import { sleep, waitFor, WaitTimeout } from '../support/wait.js';

export interface CrashDrillOptions {
  votes: number;
  /** Minimum number of kill -9 while the stream is produced. */
  kills: number;
  /** Production pace; the stream lasts votes / ratePerSecond seconds. */
  ratePerSecond: number;
  partitions?: number;
  checkpointEvery?: number;
  /** Start a second instance at this share of the stream, stop it (SIGTERM) at `secondInstanceUntil`. */
  secondInstanceFrom?: number;
  secondInstanceUntil?: number;
  seed?: number;
  /** Where the children's logs go (default: a temp dir). */
  logDir?: string;
  say?: (message: string) => void;
}

export interface CrashDrillReport {
  votes: number;
  kills: number;
  secondInstanceRan: boolean;
  expectedOutcomes: OutcomeCounts;
  storedOutcomes: OutcomeCounts;
  redisDifferences: CountDifference[];
  rocksdbDifferences: CountDifference[];
  dlqEntries: number;
  dlqDistinctOrigins: number;
  dlqEntriesWithoutReason: number;
  gracefulExit: number | string | null;
  checkpointRows: number;
  checkpointChainMismatches: string[];
  /** Partitions whose newest checkpoint does not end at the last record. */
  partitionsWithoutFinalCheckpoint: number[];
  durationSeconds: number;
  logDir: string;
  /** Partitions the second instance was assigned at some point (from its log). */
  secondInstancePartitions: number[];
}

const REGIONS = ['EU', 'NA', 'SA', 'APAC'];
const CHUNK = 250;

export async function runCrashDrill(options: CrashDrillOptions): Promise<CrashDrillReport> {
  const say = options.say ?? (() => undefined);
  const started = Date.now();
  const config = testConfig('crash', {
    TALLY_VOTES_PARTITIONS: String(options.partitions ?? 4),
    TALLY_CHECKPOINT_EVERY: String(options.checkpointEvery ?? 3000),
  });
  const topic = config.kafka.votesTopic;
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'tally-crash-logs-'));
  const logger = createLogger('crash-drill', config);
  const clients = await openDrillClients(config, 'crash-drill', logger);
  const { kafka, admin, producer, redis, codec } = clients;
  const pg = createPool(config.postgres.url, 1);
  const generator = new VoteGenerator(
    {
      runTag: topic,
      surveys: 5,
      zipfExponent: 0.8,
      questions: 3,
      options: 4,
      duplicateRatio: 0.1,
      invalidRatio: 0.01,
      followUpRatio: 0.05,
      hotShards: 3,
      regions: REGIONS,
      seed: options.seed ?? 20_240_601,
    },
    { schemaId: codec.id, encode: (vote) => codec.encode(vote) },
  );

  // info: assignments and replay progress (a few lines per rebalance) are part of what we check.
  const primary = new AggregatorProcess(envOf(config, { TALLY_LOG_LEVEL: 'info' }), await freePort(), join(logDir, 'aggregate-1.log'));
  const secondConfigDir = mkdtempSync(join(tmpdir(), 'tally-crash-second-'));
  const secondary = new AggregatorProcess(
    envOf(config, { TALLY_DATA_DIR: secondConfigDir, TALLY_LOG_LEVEL: 'info' }),
    await freePort(),
    join(logDir, 'aggregate-2.log'),
  );
  let kills = 0;
  let secondInstanceRan = false;
  try {
    let startedAt = await statusOffsets(redis, topic);
    await primary.start();
    say(`aggregator started (pid ${primary.pid}); producing ${options.votes} votes at ${options.ratePerSecond}/s`);

    let producing = true;
    const production = (async () => {
      const begin = performance.now();
      const chunk: GeneratedRecord[] = [];
      while (generator.produced < options.votes) {
        generator.nextBatch(Math.min(CHUNK, options.votes - generator.produced), chunk);
        await produceRecords(producer, topic, chunk);
        const share = generator.produced / options.votes;
        if (options.secondInstanceFrom !== undefined && !secondary.running && !secondInstanceRan && share >= options.secondInstanceFrom) {
          secondary.spawn();
          secondInstanceRan = true;
          say(`second instance started (pid ${secondary.pid}) at ${generator.produced} votes`);
        }
        if (secondary.running && share >= (options.secondInstanceUntil ?? 1)) {
          const exit = await secondary.stop();
          say(`second instance stopped at ${generator.produced} votes: ${String(exit)}`);
        }
        const wait = begin + (generator.produced / options.ratePerSecond) * 1000 - performance.now();
        if (wait > 1) await sleep(wait);
      }
      producing = false;
    })();

    const killer = (async () => {
      const random = new Prng(options.seed ?? 7);
      while (options.kills > 0 && (producing || kills < options.kills)) {
        // Kill while it works: once this process has made a durable write, at a random moment.
        await waitForWriter(redis, topic, primary.pid!, startedAt, 30_000);
        await sleep(random.next() * 1500);
        if (!primary.running) continue;
        await primary.crash();
        kills++;
        say(`kill -9 #${kills} at ${generator.produced} produced votes`);
        await sleep(random.next() * 300);
        startedAt = await statusOffsets(redis, topic);
        await primary.start();
      }
    })();

    await Promise.all([production, killer]);
    if (secondary.running) await secondary.stop();
    if (!primary.running) await primary.start();
    await waitCaughtUp(admin, topic, storedOffsets(redis, topic), { timeoutMs: 120_000 });
    say(`caught up after ${kills} kills`);

    const expected = generator.expected;
    const redisDifferences = diffTallies(expected.surveys, await redisTallies(redis, generator.surveyIds));
    if (redisDifferences.length) say(`Redis differs:\n${formatDifferences(redisDifferences)}`);

    const gracefulExit = await primary.stop();
    const stored = await rocksdbTotals(config.aggregate.dataDir, topic);
    const rocksdbDifferences = diffTallies(expected.surveys, stored.tallies);
    if (rocksdbDifferences.length) say(`RocksDB differs:\n${formatDifferences(rocksdbDifferences)}`);

    const dlq = await readTopic(kafka, admin, config.kafka.dlqTopic);
    const origins = new Set(dlq.map((entry) => `${entry.headers[DLQ_HEADER_PARTITION]}/${entry.headers[DLQ_HEADER_OFFSET]}`));

    const { rows } = await pg.query<{ partition: number; last_offset: string; chain_head: string }>(
      'SELECT partition, last_offset, chain_head FROM audit_checkpoints WHERE topic = $1',
      [topic],
    );
    const heads = chainHeads(await readTopic(kafka, admin, topic));
    const checkpointChainMismatches = rows
      .filter((row) => heads.get(row.partition)?.get(Number(row.last_offset)) !== row.chain_head)
      .map((row) => `p${row.partition}@${row.last_offset}`);
    const partitionsWithoutFinalCheckpoint = [...stored.nextOffsets]
      .filter(([partition, next]) => next > 0 && !rows.some((row) => row.partition === partition && Number(row.last_offset) === next - 1))
      .map(([partition]) => partition);

    return {
      votes: options.votes,
      kills,
      secondInstanceRan,
      expectedOutcomes: { ...expected.outcomes },
      storedOutcomes: stored.outcomes,
      redisDifferences,
      rocksdbDifferences,
      dlqEntries: dlq.length,
      dlqDistinctOrigins: origins.size,
      dlqEntriesWithoutReason: dlq.filter((entry) => !entry.headers[DLQ_HEADER_REASON]).length,
      gracefulExit,
      checkpointRows: rows.length,
      checkpointChainMismatches,
      partitionsWithoutFinalCheckpoint,
      durationSeconds: (Date.now() - started) / 1000,
      logDir,
      secondInstancePartitions: secondInstanceRan ? assignedPartitions(join(logDir, 'aggregate-2.log')) : [],
    };
  } finally {
    await primary.crash();
    await secondary.crash();
    primary.close();
    secondary.close();
    await clients.close(generator.surveyIds);
    await pg.end();
  }
}

/**
 * Waits until the process `pid` has written at least one batch (its name in a partition status), at
 * most `timeoutMs`: a process with nothing left to write (the stream is over) is killed anyway.
 */
/** Partition → (next offset, writer) from the aggregator's status hash. */
async function statusOffsets(redis: Redis, topic: string): Promise<Map<number, PartitionStatus>> {
  const statuses = await redis.hgetall(partitionStatusKey(topic));
  return new Map(Object.entries(statuses).map(([partition, json]) => [Number(partition), JSON.parse(json) as PartitionStatus]));
}

/**
 * Waits until aggregator `pid` has counted records: a status it wrote whose next offset is past the
 * one before it started. (Its own status alone is not enough: opening a partition republishes the
 * partials and the status at the stored offset, before any batch, and kills right after open made
 * degenerate drills where every record was counted in one batch after the last kill.)
 */
async function waitForWriter(redis: Redis, topic: string, pid: number, before: Map<number, PartitionStatus>, timeoutMs: number): Promise<void> {
  await waitFor(
    async () =>
      [...(await statusOffsets(redis, topic))].some(
        ([partition, status]) => status.instance.endsWith(`:${pid}`) && Number(status.nextOffset) > Number(before.get(partition)?.nextOffset ?? 0),
      ),
    { timeoutMs, what: `a batch counted by aggregator pid ${pid}` },
  ).catch((error: unknown) => {
    if (!(error instanceof WaitTimeout)) throw error;
  });
}

/** Every partition a process logged as assigned to it. */
function assignedPartitions(logPath: string): number[] {
  const partitions = new Set<number>();
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.includes('"partitions assigned"')) continue;
    for (const partition of (JSON.parse(line) as { partitions: number[] }).partitions) partitions.add(partition);
  }
  return [...partitions].sort((a, b) => a - b);
}
