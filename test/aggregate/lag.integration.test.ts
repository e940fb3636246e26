// Integration: Kafka, registry, PostgreSQL, Redis, Kafka's CLI tools (.stack/kafka)
// Acceptance: with the aggregator paused and known extra records, the lag metric, `tally lag` and
// Kafka's own consumer-group tool all report log end − processed offset, partition by partition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/logger.js';
import { openDrillClients } from './support/drill-clients.js';
import { start } from '../../src/aggregate/aggregate-role.js';
import { collectLag, formatLagTable } from '../../src/aggregate/lag-command.js';
import { VoteGenerator } from '../../bench/aggregate/vote-generator.js';
import { testConfig } from '../support/test-config.js';
import { committedOffsets, logEnds, waitCaughtUp } from '../support/caught-up.js';

const config = testConfig('lag', { TALLY_VOTES_PARTITIONS: '3' });
const topic = config.kafka.votesTopic;
const KAFKA_LIBS = fileURLToPath(new URL('../../../.stack/kafka/libs/*', import.meta.url));

/** Kafka's own view: partition → [current offset, log end, lag] from ConsumerGroupCommand --describe. */
async function kafkaToolLag(): Promise<Map<number, [string, string, string]>> {
  const { stdout } = await promisify(execFile)('java', [
    '-cp', KAFKA_LIBS,
    'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
    '--bootstrap-server', config.kafka.brokers[0]!, '--describe', '--group', config.kafka.consumerGroup,
  ]);
  const rows = new Map<number, [string, string, string]>();
  for (const line of stdout.split('\n')) {
    const cells = line.trim().split(/\s+/);
    if (cells[1] !== topic) continue;
    rows.set(Number(cells[2]), [cells[3]!, cells[4]!, cells[5]!]);
  }
  return rows;
}

function lagMetric(metrics: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of metrics.split('\n')) {
    const match = /^tally_consumer_lag\{(.*)\} (\d+)$/.exec(line);
    if (!match || !match[1]!.includes(`topic="${topic}"`)) continue;
    out.set(Number(/partition="(\d+)"/.exec(match[1]!)![1]), Number(match[2]));
  }
  return out;
}

test('paused aggregator: metric, `tally lag` and the Kafka tool agree on the lag', async () => {
  const clients = await openDrillClients(config, 'lag-test', createLogger('test', config));
  const { admin, producer, codec } = clients;
  const generator = new VoteGenerator(
    { runTag: topic, surveys: 4, zipfExponent: 0.5, questions: 2, options: 3, duplicateRatio: 0.1, invalidRatio: 0, followUpRatio: 0, hotShards: 3, regions: ['EU'], seed: 3 },
    { schemaId: codec.id, encode: (vote) => codec.encode(vote) },
  );
  const aggregator = await start(config);
  // Committed offsets: the aggregator commits after its durable write, its Redis status and its
  // in-memory position (the lag metric's source), so a commit at the log end means all three are there.
  const committed = committedOffsets(admin, config.kafka.consumerGroup, topic);
  let closed = false;
  try {
    // Every partition gets records before the pause (spread by hand, as the extra records below
    // are): a partition the surveys' keys happen to miss has no committed offset, and its lag is
    // '-' in `tally lag` and in Kafka's tool rather than a number.
    const warmup = generator.nextBatch(2000);
    await producer.send({ topic, acks: -1, messages: warmup.map((r, i) => ({ key: r.key, value: r.value, partition: i % 3 })) });
    await waitCaughtUp(admin, topic, committed, { timeoutMs: 60_000 });
    // Nothing is in flight (every record is processed and committed), and a paused consumer is
    // handed no further batch: kafkajs drops fetched data of paused partitions.
    aggregator.pause();
    const before = await logEnds(admin, topic);

    // Known extra records: partition p gets 10 * (p + 1).
    const extra = new Map([0, 1, 2].map((p) => [p, 10 * (p + 1)]));
    for (const [partition, count] of extra) {
      const records = generator.nextBatch(count);
      await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, partition })) });
    }
    const ends = await logEnds(admin, topic);
    assert.deepEqual(new Map([...ends].map(([p, end]) => [p, end - before.get(p)!])), extra, 'the extra records are in the log (acks -1)');

    await aggregator.refreshLag();
    const address = aggregator.addresses[0]!;
    const metric = lagMetric(await (await fetch(`${address}/metrics`)).text());
    assert.deepEqual(metric, extra, 'tally_consumer_lag = log end − next offset to process');

    const report = await collectLag(config);
    for (const row of report.partitions) {
      assert.equal(row.lag, extra.get(row.partition), `tally lag, partition ${row.partition}`);
      assert.equal(row.nextOffset, ends.get(row.partition)! - extra.get(row.partition)!);
      assert.equal(row.logEnd, ends.get(row.partition));
      assert.ok(row.owner, 'the owner comes from the group description');
      assert.ok(row.lastBatchAt && row.writer, 'last batch time and writer come from Redis');
    }
    assert.match(formatLagTable(report), /PARTITION\s+NEXT-OFFSET\s+LOG-END\s+LAG\s+OWNER/);

    const tool = await kafkaToolLag();
    for (const row of report.partitions) {
      assert.deepEqual(tool.get(row.partition), [String(row.nextOffset), String(row.logEnd), String(row.lag)], `Kafka tool, partition ${row.partition}`);
    }

    aggregator.resume();
    await waitCaughtUp(admin, topic, committed, { timeoutMs: 60_000 });
    await aggregator.refreshLag();
    const caughtUp = lagMetric(await (await fetch(`${address}/metrics`)).text());
    assert.deepEqual([...caughtUp.values()], [0, 0, 0]);
    await aggregator.close();
    closed = true;

    // Stopped: no owner any more; the committed offsets (= stored next offsets) still give lag 0.
    const stopped = await collectLag(config);
    assert.ok(stopped.partitions.every((row) => row.lag === 0 && row.owner === null));
    const toolStopped = await kafkaToolLag();
    for (const row of stopped.partitions) assert.deepEqual(toolStopped.get(row.partition), [String(row.nextOffset), String(row.logEnd), '0']);
  } finally {
    if (!closed) await aggregator.close();
    await clients.close(generator.surveyIds);
  }
});
