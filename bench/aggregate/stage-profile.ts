// `bench aggregate --profile`: where the aggregator's CPU goes, per stage of the record path and per
// kind of thread, in µs of CPU per record. `perf record -g` samples the aggregator process (every
// thread, user and kernel, on-CPU time only) while it drains the topic; the node flag
// --perf-basic-prof lets perf name JavaScript functions. Each sample is given to the first stage
// whose rule matches a frame, walking from the leaf to the root, so native work (SHA-256 in
// OpenSSL, RocksDB in the libuv pool, GC in V8's helpers) lands in the stage that caused it.
//
// perf is Debian's `linux-perf`; scripts/bench.sh installs it when --profile is given.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { markdownTable } from '../lib/report-writer.js';

export const PERF_FREQUENCY = 999;

/**
 * Stages in the order of the record path; each sample is given to the first rule that matches a
 * frame (leaf first). A rule with callers then looks further toward the root for the first frame
 * that one of them matches, and gives the sample to that caller's stage instead: so SHA-256 in
 * OpenSSL counts as the hash chain or the Merkle tree depending on who called it, and GC as young
 * (scavenges: objects that survive a collection are copied) or old generation.
 *
 * JavaScript frames read `JS:*name file:///…/file.js:line:col` (--perf-basic-prof); a function
 * V8 inlined into its caller shows as the caller, so "processor loop" holds what was inlined into
 * PartitionProcessor.process.
 */
const js = (file: string, names = '\\S*'): RegExp => new RegExp(`JS:\\W?(?:${names}) file:\\S*/${file.replace('.', '\\.')}:`);
const CHAIN = js('record-reader.js', 'chain');
const MERKLE = new RegExp(`${js('record-reader.js', 'leafDigest').source}|merkle-tree\\.js`);
type StageRule = [stage: string, pattern: RegExp, callers?: Array<[stage: string, pattern: RegExp]>];
const STAGE_RULES: StageRule[] = [
  ['GC: old generation (mark, sweep, compact)', /Scaveng|MarkCompact|v8::internal::Heap::|ConcurrentMarking|Sweeper|IncrementalMarking|MinorM[CS]|MarkingVisitor|EvacuateV|PagedSpace|ReadOnlySpace|MemoryAllocator|MemoryChunk|ArrayBufferSweeper|GlobalHandles::/, [['GC: young generation (scavenge)', /Scaveng|MinorM[CS]/]]],
  ['JIT compile', /compiler::|Maglev|maglev|turboshaft|Turboshaft|BaselineBatchCompiler|Compiler::|OptimizingCompileDispatcher|Parser::|PreParser|interpreter::BytecodeGenerator/],
  ['kafkajs fetch + decode (main)', /node_modules\/kafkajs\//],
  ['pack batch (main) / packed records (worker)', /packed-batch\.js/],
  ['thread hand-off (piscina, postMessage)', /node_modules\/piscina\/|ValueSerializer|ValueDeserializer|MessagePort|worker::Message/],
  ['SHA-256 (other callers)', /sha256|SHA256|sha2_|evp_md|EVP_|EVP_Digest/, [['hash chain (SHA-256 and its call)', CHAIN], ['Merkle tree (leaf and node SHA-256, accumulator)', MERKLE]]],
  ['hash chain (SHA-256 and its call)', CHAIN],
  ['Merkle tree (leaf and node SHA-256, accumulator)', MERKLE],
  ['Avro decode', /node_modules\/avsc\/|vote-codec\.js|vote-wire-decoder\.js/],
  ['structural rules', /vote-rules\.js/],
  ['Redis publish', /node_modules\/(ioredis|redis-parser|@ioredis|standard-as-callback|cluster-key-slot)\//],
  ['metrics & logs', /node_modules\/(prom-client|pino|tdigest|bintrees)\//],
  ['RocksDB lookup', /rocksdb::(DBImpl::(Get|MultiGet)|MemTable::Get|Version::Get|TableCache::Get|BlockBasedTable::(Get|MultiGet)|FullFilterBlockReader|BlockIter|DataBlockIter|IndexBlockIter|LRUCache|Block::)|GetMany|getMany/],
  ['RocksDB write + WAL sync', /rocksdb::(DBImpl::(Write|PipelinedWrite|WriteToWAL|WriteImpl)|WriteBatch|MemTableInserter|MemTable::Add|InlineSkipList|log::Writer|WritableFileWriter)|fdatasync|fsync|BatchWorker|batch/],
  ['RocksDB flush / compaction', /rocksdb::(FlushJob|CompactionJob|BuildTable|BlockBasedTableBuilder|DBImpl::BG|ThreadPoolImpl)/],
  ['JSON (ledger values, tallies, partials)', /Json(Parse|Stringif)|JsonParser|JsonStringifier/],
  ['counting (one-vote rules, tallies, buckets)', new RegExp(`apply-votes\\.js|counting-state\\.js|survey-tally\\.js|own-keys\\.js|${js('partition-state.js', 'answeredQuestions|setAnsweredQuestions|surveyTally|countMinute|bucketsOf').source}`)],
  ['voter ledger (memory, lookups)', /voter-ledger\.js/],
  ['record reader (rules, key check, castAt, DLQ entries)', /record-reader\.js/],
  ['persist (changed keys, position, checkpoint, digest)', /partition-state\.js|partition-store\.js|rocksdb-partition-store\.js|checkpoint|partition-tally\.js/],
  ['processor loop (partition-processor.js, and what V8 inlined into it)', /partition-processor\.js|partition-worker\.js/],
  ['aggregate main thread (ours)', /owned-partitions\.js|worker-slots\.js|aggregate-role\.js|partition-lifecycle\.js/],
];

/** Every stage, in path order (a caller's stage right after the rule that refers to it). */
const STAGE_ORDER = [...new Set(STAGE_RULES.flatMap(([stage, , callers]) => [stage, ...(callers ?? []).map(([caller]) => caller)]))];

/** The stage of one sample (frames leaf first), or null when no rule matches. */
export function stageOf(frames: readonly string[]): string | null {
  for (let i = 0; i < frames.length; i++) {
    const rule = STAGE_RULES.find(([, pattern]) => pattern.test(frames[i]!));
    if (!rule) continue;
    const [stage, , callers] = rule;
    if (callers) {
      for (let j = i; j < frames.length; j++) {
        const caller = callers.find(([, pattern]) => pattern.test(frames[j]!));
        if (caller) return caller[0];
      }
    }
    return stage;
  }
  return null;
}

export type ThreadKind = 'main' | 'worker threads' | 'libuv pool (RocksDB I/O)' | 'V8 helpers (GC, JIT)' | 'RocksDB background' | 'other threads';
const THREAD_KINDS: ThreadKind[] = ['main', 'worker threads', 'libuv pool (RocksDB I/O)', 'V8 helpers (GC, JIT)', 'RocksDB background', 'other threads'];

export interface StageProfile {
  records: number;
  samples: number;
  /** stage → thread kind → samples */
  bySample: Record<string, Partial<Record<ThreadKind, number>>>;
  /** Same as bySample, in µs of CPU per record. */
  micros: Record<string, Partial<Record<ThreadKind, number>>>;
  totalMicrosPerRecord: number;
  /** The most frequent leaf symbols of samples no rule matched, to refine the rules. */
  unmatchedTop: Array<[string, number]>;
}

export function perfAvailable(): boolean {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Starts sampling every thread of `pid`; `stop()` ends it and resolves when the file is written. */
export function startPerf(pid: number, dataFile: string): { stop(): Promise<void> } {
  const child: ChildProcess = spawn('perf', ['record', '-F', String(PERF_FREQUENCY), '-g', '-p', String(pid), '-o', dataFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    async stop() {
      child.kill('SIGINT');
      const code = await exited;
      if (code !== 0 && code !== null) throw new Error(`perf record exited ${code}: ${stderr.trim()}`);
    },
  };
}

function threadKind(tid: number, pid: number, frames: string[]): ThreadKind | null {
  if (tid === pid) return 'main';
  const all = frames.join('\n');
  if (/node::worker::Worker::Run|partition-worker\.js|partition-processor\.js/.test(all)) return 'worker threads';
  if (/uv__work|worker \(|uv__thread_start.*libuv|threadpool/.test(all) && /rocksdb|leveldown|napi|Worker::DoExecute|fsync|fdatasync/.test(all)) return 'libuv pool (RocksDB I/O)';
  if (/rocksdb::ThreadPoolImpl|BGThread/.test(all)) return 'RocksDB background';
  if (/DefaultWorkerThreadsTaskRunner|WorkerThreadsTaskRunner|PlatformWorker|v8::platform/.test(all)) return 'V8 helpers (GC, JIT)';
  return null;
}

/** Reads `perf script` of the data file and sums samples per stage and per kind of thread. */
export async function analyzePerf(dataFile: string, pid: number, records: number): Promise<StageProfile> {
  const script = spawn('perf', ['script', '-i', dataFile, '-F', 'tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: script.stdout! });
  const samplesByTid = new Map<number, Array<{ stage: string | null; leaf: string }>>();
  const kindOfTid = new Map<number, ThreadKind>();
  const unmatched = new Map<string, number>();
  let tid = -1;
  let frames: string[] = [];
  let total = 0;
  const flush = () => {
    if (tid < 0 || frames.length === 0) return;
    total++;
    const stage = stageOf(frames);
    if (!kindOfTid.has(tid)) {
      const kind = threadKind(tid, pid, frames);
      if (kind) kindOfTid.set(tid, kind);
    }
    let list = samplesByTid.get(tid);
    if (!list) samplesByTid.set(tid, (list = []));
    list.push({ stage, leaf: frames[0]! });
    frames = [];
  };
  for await (const line of lines) {
    if (line.length === 0) continue;
    if (!line.startsWith('\t') && !line.startsWith(' ')) {
      flush();
      tid = Number(line.trim().split(/\s+/)[0]);
      continue;
    }
    // "\t    7f12ab34 symbol+0x12 (dso)"
    const text = line.trim();
    const space = text.indexOf(' ');
    frames.push(space < 0 ? text : text.slice(space + 1));
  }
  flush();

  const bySample: StageProfile['bySample'] = {};
  for (const [thread, samples] of samplesByTid) {
    const kind = kindOfTid.get(thread) ?? 'other threads';
    for (const { stage, leaf } of samples) {
      const name = stage ?? `other (${kind})`;
      const row = (bySample[name] ??= {});
      row[kind] = (row[kind] ?? 0) + 1;
      if (stage === null) unmatched.set(leaf, (unmatched.get(leaf) ?? 0) + 1);
    }
  }
  const micros: StageProfile['micros'] = {};
  const perSample = 1e6 / PERF_FREQUENCY / records;
  for (const [stage, row] of Object.entries(bySample)) {
    micros[stage] = Object.fromEntries(Object.entries(row).map(([kind, n]) => [kind, n * perSample]));
  }
  return {
    records,
    samples: total,
    bySample,
    micros,
    totalMicrosPerRecord: total * perSample,
    unmatchedTop: [...unmatched].sort((a, b) => b[1] - a[1]).slice(0, 25),
  };
}

/** Markdown: one row per stage (path order), one column per kind of thread, µs of CPU per record. */
export function stageTable(profile: StageProfile): string {
  const kinds = THREAD_KINDS.filter((kind) => Object.values(profile.micros).some((row) => (row[kind] ?? 0) > 0));
  const order = [...STAGE_ORDER, ...THREAD_KINDS.map((kind) => `other (${kind})`)];
  const rows = order
    .filter((stage) => profile.micros[stage])
    .map((stage) => {
      const row = profile.micros[stage]!;
      const sum = Object.values(row).reduce((a, b) => a + (b ?? 0), 0);
      return [stage, ...kinds.map((kind) => (row[kind] ? row[kind]!.toFixed(2) : '')), sum.toFixed(2)];
    });
  const totals = kinds.map((kind) => Object.values(profile.micros).reduce((a, row) => a + (row[kind] ?? 0), 0).toFixed(2));
  rows.push(['**all**', ...totals, profile.totalMicrosPerRecord.toFixed(2)]);
  return markdownTable(['stage (µs CPU / record)', ...kinds, 'all threads'], rows);
}
