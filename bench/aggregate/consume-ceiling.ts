// The kafkajs consume ceiling of `bench aggregate`: a plain kafkajs consumer (no processing) that
// reads the run's votes topic with the aggregator's own fetch settings (src/aggregate/consumer-settings.ts),
// in a process of its own like the aggregator, so tally ÷ ceiling says what our processing costs
// on top of what this client can deliver on this machine, in the same run, on the same records.
//
//   node dist/bench/aggregate/consume-ceiling.js <records>     (TALLY_* environment of the run)
//
// Prints one JSON line on stdout: records, seconds from the first batch to the last record, and the
// process's CPU seconds over that same window.
import { loadConfig } from '../../src/config.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { consumerSettings } from '../../src/aggregate/consumer-settings.js';

export interface CeilingResult {
  records: number;
  seconds: number;
  cpuSeconds: number;
  recordsPerSecond: number;
  cpuMicrosPerRecord: number;
}

const expected = Number(process.argv[2]);
if (!Number.isInteger(expected) || expected <= 0) throw new Error('usage: consume-ceiling.js <records>');
const config = loadConfig(process.env);
const kafka = createKafka(config, 'bench-ceiling', createLogger('bench', config));
const consumer = kafka.consumer(consumerSettings(config, `${config.kafka.consumerGroup}-ceiling`));
const topic = config.kafka.votesTopic;

let records = 0;
/** Records of the first batch: they arrived before the clock started, so they are not counted. */
let firstBatch = 0;
let startedAt = 0;
let cpuAtStart: NodeJS.CpuUsage | undefined;
let done!: (result: CeilingResult) => void;
const finished = new Promise<CeilingResult>((resolve) => (done = resolve));
const deadline = setTimeout(() => {
  process.stderr.write(`[ceiling] gave up after 600 s with ${records} of ${expected} records\n`);
  process.exit(1);
}, 600_000);

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  partitionsConsumedConcurrently: config.kafka.partitions,
  eachBatch: async ({ batch }) => {
    if (records === 0) {
      startedAt = performance.now();
      cpuAtStart = process.cpuUsage();
      firstBatch = batch.messages.length;
    }
    records += batch.messages.length;
    if (records >= expected && cpuAtStart) {
      const cpu = process.cpuUsage(cpuAtStart);
      const seconds = (performance.now() - startedAt) / 1000;
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const measured = records - firstBatch;
      done({ records, seconds, cpuSeconds, recordsPerSecond: measured / seconds, cpuMicrosPerRecord: (cpuSeconds / measured) * 1e6 });
    }
  },
});
const result = await finished;
clearTimeout(deadline);
process.stdout.write(`${JSON.stringify(result)}\n`);
await consumer.disconnect();
const admin = kafka.admin();
await admin.connect();
await admin.deleteGroups([`${config.kafka.consumerGroup}-ceiling`]).catch(() => undefined);
await admin.disconnect();
