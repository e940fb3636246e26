// The worker's batch path in isolation (a probe, not a bench scenario): generated votes, packed
// like the main thread packs them, through one PartitionProcessor with a real RocksDB and Redis, on
// this thread. No Kafka, so the numbers are steadier than the end-to-end probe on a shared machine.
//   node dist/bench/probes/processor-probe.js [votes=300000] [batch=12000] [node flags…]
// Prints wall time and process CPU (all threads: GC helpers and the libuv pool included) per record.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { surveyHashKey } from '../../src/partition-tally.js';
import { VoteCodec, VoteDecoder, voteSchemaJson } from '../../src/vote-codec.js';
import { packBatch, type KafkaRecordLike } from '../../src/aggregate/packed-batch.js';
import { PartitionProcessor } from '../../src/aggregate/partition-processor.js';
import type { PackedBatch } from '../../src/aggregate/worker-messages.js';
import { partitionStatusKey } from '../../src/aggregate/partial-publisher.js';
import { RecordReader } from '../../src/aggregate/record-reader.js';
import { RedisPartialPublisher } from '../../src/aggregate/redis-partial-publisher.js';
import { RocksDBPartitionStore } from '../../src/aggregate/rocksdb-partition-store.js';
import { WriterSchemas } from '../../src/aggregate/writer-schemas.js';
import { VoteGenerator } from '../aggregate/vote-generator.js';
import { testConfig } from '../../test/support/test-config.js';
import { startProbe } from '../lib/probe-run.js';

await startProbe('processor-probe');

const votes = Number(process.argv[2] ?? 300_000);
const batchSize = Number(process.argv[3] ?? 12_000);
const SCHEMA_ID = 1;
const config = testConfig('processor-probe');
const topic = config.kafka.votesTopic;

const codec = new VoteCodec(config.registryUrl, topic);
Object.defineProperty(codec, 'id', { value: SCHEMA_ID }); // encode without a registry round trip
const generator = new VoteGenerator(
  { runTag: topic, surveys: 20, zipfExponent: 1, questions: 3, options: 5, duplicateRatio: 0.1, invalidRatio: 0.001, followUpRatio: 0.05, hotShards: 4, regions: ['EU', 'NA', 'SA', 'APAC'], seed: 1 },
  { schemaId: SCHEMA_ID, encode: (vote) => codec.encode(vote) },
);
// Packed up front (as the main thread would), so the generated records do not sit in this heap.
const batches: PackedBatch[] = [];
let offset = 0;
while (generator.produced < votes) {
  const records: KafkaRecordLike[] = generator.nextBatch(Math.min(batchSize, votes - generator.produced)).map((r) => ({ offset: String(offset++), key: Buffer.from(r.key), value: r.value }));
  batches.push(packBatch(records, 0)!);
}

const decoder = new VoteDecoder();
decoder.addWriterSchema(SCHEMA_ID, voteSchemaJson);
const publisher = new RedisPartialPublisher(config.redisUrl, topic, 'processor-probe');
const dir = mkdtempSync(join(tmpdir(), 'tally-processor-probe-'));
// The generator's unknown schema id is never registered: no grace (as bench aggregate sets it).
const schemas = new WriterSchemas(config.registryUrl, decoder, 0);
const processor = await PartitionProcessor.open(await RocksDBPartitionStore.open(dir), {
  topic,
  partition: 0,
  checkpointEvery: 10_000,
  reader: new RecordReader(decoder, schemas),
  schemas,
  publisher,
});

/** CPU seconds per thread of this process so far: this thread, V8's GC/compiler helpers, libuv pool, RocksDB. */
function cpuByThread(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of readdirSync('/proc/self/task')) {
    const comm = readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
    const name = task === String(process.pid) ? 'js' : comm === 'node' ? `node/${task}` : comm;
    const fields = readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
    byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return byName;
}

const threadsBefore = cpuByThread();
const cpuBefore = process.cpuUsage();
const started = performance.now();
let writeSeconds = 0;
for (const batch of batches) {
  let result = await processor.process(batch);
  if (result.kind === 'needs-dlq') result = await processor.commitHeld(); // no Kafka here: the DLQ produce is skipped
  if (result.kind !== 'written') throw new Error(`unexpected ${result.kind}`);
  writeSeconds += result.writeSeconds;
}
const wall = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const outcomes = processor.outcomeCounts();
console.log(
  `${votes} records in ${batches.length} batches: wall ${wall.toFixed(2)} s = ${Math.round(votes / wall)} records/s; ` +
    `CPU ${cpuSeconds.toFixed(2)} s = ${((cpuSeconds / votes) * 1e6).toFixed(2)} µs/record; synced writes ${writeSeconds.toFixed(2)} s`,
);
const threads = [...cpuByThread()].map(([name, seconds]) => [name, seconds - (threadsBefore.get(name) ?? 0)] as const);
console.log(`CPU µs/record by thread: ${threads.filter(([, s]) => s > 0).map(([name, s]) => `${name} ${((s / votes) * 1e6).toFixed(2)}`).join(', ')}`);
const expected = generator.expected.outcomes;
if (outcomes.accepted !== expected.accepted || outcomes.duplicate !== expected.duplicate || outcomes.invalid !== expected.invalid) {
  throw new Error(`outcomes ${JSON.stringify(outcomes)} differ from the generator's ${JSON.stringify(expected)}`);
}

await processor.close();
await publisher.close();
const redis = new Redis(config.redisUrl);
await redis.del(...generator.surveyIds.map(surveyHashKey), partitionStatusKey(topic));
redis.disconnect();
rmSync(dir, { recursive: true, force: true });
rmSync(config.aggregate.dataDir, { recursive: true, force: true });
