// A quick throughput probe (a probe, not a bench scenario): pre-produces N votes into a fresh topic,
// then runs `tally aggregate` as a child process and reports records/s through the exactly-once
// path, from the first durable write to catching up (sum of the stored next offsets in Redis).
//   node dist/bench/probes/throughput-probe.js [votes=500000] [partitions=6] [node flags…]
// e.g. add --cpu-prof --cpu-prof-dir=/tmp/prof to profile the aggregator.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createKafka, Partitioners } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { VoteCodec } from '../../src/vote-codec.js';
import { partitionStatusKey, type PartitionStatus } from '../../src/aggregate/partial-publisher.js';
import { VoteGenerator, type GeneratedRecord } from '../aggregate/vote-generator.js';
import { envOf, testConfig } from '../../test/support/test-config.js';
import { AggregatorProcess, freePort } from '../../test/aggregate/support/aggregator-process.js';
import { createTestTopics, deleteTestTopics } from '../../test/support/test-topics.js';
import { startProbe } from '../lib/probe-run.js';

await startProbe('throughput-probe');

/** Mean records per batch, batch and write time, from the aggregator's histograms (sum / count). */
function batchSummary(metrics: string): string {
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  const batches = value('tally_batch_records_count');
  const mean = (name: string, scale: number) => ((value(`${name}_sum`) / value(`${name}_count`)) * scale).toFixed(1);
  return `batches ${batches}: ${mean('tally_batch_records', 1)} records, ${mean('tally_batch_duration_seconds', 1000)} ms each (synced write ${mean('tally_rocksdb_write_duration_seconds', 1000)} ms)`;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds per thread name of a process since it started (main thread, workers, libuv pool, V8 GC helpers). */
function cpuByThread(pid: number | undefined): string {
  const byName = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim();
    const fields = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const key = task === String(pid) ? 'main' : name === 'node' ? `node/${task}` : name;
    byName.set(key, (byName.get(key) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return [...byName].filter(([, seconds]) => seconds >= 0.05).sort((a, b) => b[1] - a[1]).map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`).join(', ');
}

/** Busy and total CPU time of the whole machine so far (all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, n) => sum + n, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

const votes = Number(process.argv[2] ?? 500_000);
const partitions = process.argv[3] ?? '6';
const nodeArgs = process.argv.slice(4);
const config = testConfig('probe', { TALLY_VOTES_PARTITIONS: partitions });
const topic = config.kafka.votesTopic;
const kafka = createKafka(config, 'probe', createLogger('probe', config));
const admin = kafka.admin();
await admin.connect();
await createTestTopics(config, admin);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const codec = new VoteCodec(config.registryUrl, topic);
await codec.register();
const generator = new VoteGenerator(
  { runTag: topic, surveys: 20, zipfExponent: 1, questions: 3, options: 5, duplicateRatio: 0.1, invalidRatio: 0.001, followUpRatio: 0.05, hotShards: 4, regions: ['EU', 'NA', 'SA', 'APAC'], seed: 1 },
  { schemaId: codec.id, encode: (vote) => codec.encode(vote) },
);
let t = performance.now();
const chunk: GeneratedRecord[] = [];
const sends: Promise<unknown>[] = [];
while (generator.produced < votes) {
  generator.nextBatch(Math.min(5000, votes - generator.produced), chunk);
  sends.push(producer.send({ topic, acks: -1, messages: chunk.map((r) => ({ key: r.key, value: r.value })) }));
  if (sends.length >= 4) await sends.shift();
}
await Promise.all(sends);
console.log(`produced ${votes} votes in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const redis = new Redis(config.redisUrl);
const aggregator = new AggregatorProcess(envOf(config), await freePort(), '/tmp/tally-probe-aggregate.log', nodeArgs);
const processed = async () => {
  const statuses = Object.values(await redis.hgetall(partitionStatusKey(topic))).map((json) => JSON.parse(json) as PartitionStatus);
  return statuses.reduce((sum, s) => sum + Number(s.nextOffset), 0);
};
aggregator.spawn();
let first = 0;
let firstAt = 0;
let firstCpu = 0;
let firstMachine = { busy: 0, total: 0 };
const samples: string[] = [];
for (;;) {
  const n = await processed();
  const now = performance.now();
  if (n > 0 && firstAt === 0) {
    first = n;
    firstAt = now;
    firstCpu = cpuSeconds(aggregator.pid);
    firstMachine = machineCpu();
  }
  if (firstAt && now - t > 1000) {
    samples.push(String(n));
    t = now;
  }
  if (n >= votes) {
    const seconds = (now - firstAt) / 1000;
    const cpu = cpuSeconds(aggregator.pid) - firstCpu;
    const machine = machineCpu();
    const machineBusy = (machine.busy - firstMachine.busy) / (machine.total - firstMachine.total);
    console.log(`aggregated ${n - first} records in ${seconds.toFixed(2)} s = ${Math.round((n - first) / seconds)} records/s (progress per ~1 s: ${samples.join(' ')})`);
    console.log(
      `aggregator CPU ${cpu.toFixed(2)} s = ${Math.round((n - first) / cpu)} records per CPU-second; machine busy ${(machineBusy * 100).toFixed(0)}% of all cores (others' work included)`,
    );
    break;
  }
  await sleep(100); // sampling period
}
console.log(`aggregator CPU s by thread since start: ${cpuByThread(aggregator.pid)}`);
console.log(batchSummary(await aggregator.metrics()));
console.log(`graceful stop: ${String(await aggregator.stop())}`);
aggregator.close();
await producer.disconnect();
await deleteTestTopics(config, admin);
await admin.disconnect();
redis.disconnect();
