// The TALLY_* environment of one bench run: its own votes topic, DLQ, consumer group, RocksDB data
// directory and ports, so runs never see each other's data (nor the developer's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type TallyConfig } from '../../src/config.js';
import { freePort } from './role-process.js';

export interface RunEnv {
  env: Record<string, string>;
  config: TallyConfig;
  dataDir: string;
  removeDataDir(): void;
}

export interface RunEnvOptions {
  runId: string;
  partitions?: number;
  workerThreads?: number;
  extra?: Record<string, string>;
}

export async function createRunEnv(options: RunEnvOptions): Promise<RunEnv> {
  const id = options.runId.toLowerCase();
  const dataDir = mkdtempSync(join(tmpdir(), `tally-bench-${id}-`));
  const env: Record<string, string> = {
    TALLY_ENV: 'test',
    TALLY_LOG_LEVEL: process.env.TALLY_LOG_LEVEL ?? 'warn',
    TALLY_VOTES_TOPIC: `bench-votes-${id}`,
    TALLY_DLQ_TOPIC: `bench-votes-${id}.dlq`,
    TALLY_CONSUMER_GROUP: `bench-aggregate-${id}`,
    TALLY_DATA_DIR: dataDir,
    TALLY_INGEST_PORT: String(await freePort()),
    TALLY_BROADCAST_PORT: String(await freePort()),
    TALLY_AGGREGATE_PORT: String(await freePort()),
    // The vote generator's unknown schema id is never registered: a grace would only stall the run.
    TALLY_SCHEMA_NOT_FOUND_GRACE_MS: '0',
    ...(options.partitions ? { TALLY_VOTES_PARTITIONS: String(options.partitions) } : {}),
    ...(options.workerThreads ? { TALLY_WORKER_THREADS: String(options.workerThreads) } : {}),
    ...options.extra,
  };
  // Validate now, with the same rules the roles apply, so a bad option fails before anything starts.
  const config = loadConfig({ ...process.env, ...env });
  return { env, config, dataDir, removeDataDir: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/**
 * Survey ids for a run that cannot collide with real ones (PostgreSQL bigserial ids are small) nor
 * with another run: 18 digits, starting with 9, then the run's millisecond clock, then the index.
 */
export function benchSurveyIds(count: number, now = Date.now()): string[] {
  const base = 900_000_000_000_000_000n + BigInt(now) * 1000n;
  return Array.from({ length: count }, (_, i) => String(base + BigInt(i)));
}
