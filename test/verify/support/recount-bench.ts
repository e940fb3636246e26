// Measures a full recount: `node dist/test/verify/support/recount-bench.js [records]` produces
// that many votes (default 300,000) to a fresh 6-partition topic, runs `verify` over it, prints
// the rate, and deletes the topic. A measurement, not a test: nothing here asserts a speed.
import { createKafka } from '../../../src/kafka.js';
import { createLogger } from '../../../src/logger.js';
import { verify } from '../../../src/verify/verifier.js';
import { testConfig } from '../../support/test-config.js';
import { produceVotes } from './produce-votes.js';

const count = Number(process.argv[2] ?? 300_000);
const config = testConfig('recount-bench', { TALLY_VOTES_PARTITIONS: '6' });
const logger = createLogger('recount-bench', config);

const produceStarted = Date.now();
await produceVotes(config, logger, { count });
process.stderr.write(`produced ${count} records in ${((Date.now() - produceStarted) / 1000).toFixed(1)} s\n`);

try {
  const report = await verify(
    config,
    { onProgress: (p) => process.stderr.write(`  ${p.records} records after ${(p.elapsedMs / 1000).toFixed(1)} s\n`), progressIntervalMs: 1000 },
    logger,
  );
  const memory = Math.round(process.memoryUsage().rss / 1024 / 1024);
  process.stdout.write(
    `${JSON.stringify({ records: report.records, recountMs: report.recountMs, recordsPerSecond: report.recordsPerSecond, totalMs: report.durationMs, rssMiB: memory, ok: report.ok, outcomes: report.partitions.map((p) => p.outcomes) })}\n`,
  );
} finally {
  const admin = createKafka(config, 'recount-bench', logger).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] });
  await admin.disconnect();
}
