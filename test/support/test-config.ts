// Integration-test configuration: the real local stack, with names unique to one test so test
// files never see each other's topics, groups, data directories or Redis keys.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type TallyConfig } from '../../src/config.js';

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A config for one test: fresh votes/DLQ topics, consumer group and RocksDB data dir; ports 0. */
export function testConfig(name: string, env: Record<string, string> = {}): TallyConfig {
  const id = uniqueName(name);
  return loadConfig({
    ...process.env,
    TALLY_ENV: 'test',
    TALLY_LOG_LEVEL: process.env.TALLY_LOG_LEVEL ?? 'warn',
    TALLY_VOTES_TOPIC: `votes-${id}`,
    TALLY_DLQ_TOPIC: `votes-${id}.dlq`,
    TALLY_CONSUMER_GROUP: `group-${id}`,
    TALLY_DATA_DIR: mkdtempSync(join(tmpdir(), `tally-${name}-`)),
    TALLY_INGEST_PORT: '0',
    TALLY_BROADCAST_PORT: '0',
    TALLY_AGGREGATE_PORT: '0',
    // start() in a test process must not fork the test runner: one ingest process unless a test asks.
    TALLY_INGEST_PROCESSES: '1',
    // Tests produce records with schema ids no registry has: a short grace keeps them fast.
    TALLY_SCHEMA_NOT_FOUND_GRACE_MS: '200',
    ...env,
  });
}

/**
 * The TALLY_* variables that give a child process (`node dist/src/cli.js <role>`) the configuration
 * `config` holds: the inverse of loadConfig for what the roles read. Spread over process.env.
 */
export function envOf(config: TallyConfig, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    TALLY_ENV: config.env,
    TALLY_LOG_LEVEL: config.logLevel,
    TALLY_KAFKA_BROKERS: config.kafka.brokers.join(','),
    TALLY_VOTES_TOPIC: config.kafka.votesTopic,
    TALLY_DLQ_TOPIC: config.kafka.dlqTopic,
    TALLY_VOTES_PARTITIONS: String(config.kafka.partitions),
    TALLY_CONSUMER_GROUP: config.kafka.consumerGroup,
    TALLY_REGISTRY_URL: config.registryUrl,
    TALLY_SCHEMA_NOT_FOUND_GRACE_MS: String(config.schemaNotFoundGraceMs),
    TALLY_PG_URL: config.postgres.url,
    TALLY_PG_ADMIN_URL: config.postgres.adminUrl,
    TALLY_REDIS_URL: config.redisUrl,
    TALLY_DATA_DIR: config.aggregate.dataDir,
    TALLY_WORKER_THREADS: String(config.aggregate.workerThreads),
    TALLY_CHECKPOINT_EVERY: String(config.aggregate.checkpointEvery),
    TALLY_AGGREGATE_SESSION_TIMEOUT_MS: String(config.aggregate.sessionTimeoutMs),
    ...overrides,
  };
}
