// Integration: Kafka, registry, PostgreSQL, Redis
// Acceptance: kill -9 the aggregator (a child process) at random moments while votes stream in;
// the final tallies in Redis and in RocksDB equal the generator's expected counts exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDifferences } from '../../bench/aggregate/tally-diff.js';
import { runCrashDrill } from './crash-drill.js';

test('kill -9 at least 5 times mid-stream: tallies, outcomes, DLQ and checkpoints stay exact', async () => {
  const report = await runCrashDrill({ votes: 30_000, kills: 5, ratePerSecond: 800, partitions: 4, checkpointEvery: 3000 });
  assert.ok(report.kills >= 5, `only ${report.kills} kills`);
  assert.deepEqual(report.redisDifferences, [], `Redis partials differ (logs: ${report.logDir}):\n${formatDifferences(report.redisDifferences)}`);
  assert.deepEqual(report.rocksdbDifferences, [], `RocksDB state differs:\n${formatDifferences(report.rocksdbDifferences)}`);
  assert.deepEqual(report.storedOutcomes, report.expectedOutcomes, 'accepted / duplicate / invalid counts');
  assert.ok(report.expectedOutcomes.duplicate > 0 && report.expectedOutcomes.invalid > 0, 'the stream has duplicates and poison pills');
  // The DLQ is at-least-once: a crash between the DLQ produce and the state write repeats entries.
  assert.equal(report.dlqDistinctOrigins, report.expectedOutcomes.invalid, 'every invalid record is in the DLQ');
  assert.ok(report.dlqEntries >= report.dlqDistinctOrigins);
  assert.equal(report.dlqEntriesWithoutReason, 0);
  assert.equal(report.gracefulExit, 0, 'SIGTERM exits 0');
  assert.deepEqual(report.partitionsWithoutFinalCheckpoint, [], 'the graceful stop checkpoints every partition at its last record');
  assert.ok(report.checkpointRows > 4, `${report.checkpointRows} checkpoint rows: the aggregator counted too little between kills (logs: ${report.logDir})`);
  assert.deepEqual(report.checkpointChainMismatches, [], 'checkpoint chain heads equal the chain recomputed from the log');
});
