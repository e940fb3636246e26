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
    ...env,
  });
}
