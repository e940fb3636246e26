// Integration: Kafka, registry, PostgreSQL, Redis
// Acceptance: a second aggregator instance (its own data dir, like another machine) joins the group
// mid-stream and leaves again; partitions move both ways (rebuilt by replay, or continued from an
// older local offset) and the tallies stay exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDifferences } from '../../bench/aggregate/tally-diff.js';
import { runCrashDrill } from './crash-drill.js';

test('a second instance joins and leaves mid-stream: tallies stay exact', async () => {
  const report = await runCrashDrill({
    votes: 20_000,
    kills: 0,
    ratePerSecond: 1000,
    partitions: 4,
    secondInstanceFrom: 0.2,
    secondInstanceUntil: 0.7,
  });
  assert.ok(report.secondInstanceRan);
  assert.ok(report.secondInstancePartitions.length > 0, 'the second instance owned partitions for a while');
  assert.deepEqual(report.redisDifferences, [], `Redis partials differ (logs: ${report.logDir}):\n${formatDifferences(report.redisDifferences)}`);
  assert.deepEqual(report.rocksdbDifferences, [], `RocksDB state differs:\n${formatDifferences(report.rocksdbDifferences)}`);
  assert.deepEqual(report.storedOutcomes, report.expectedOutcomes);
  assert.equal(report.dlqDistinctOrigins, report.expectedOutcomes.invalid);
  assert.equal(report.gracefulExit, 0);
  assert.deepEqual(report.checkpointChainMismatches, []);
});
