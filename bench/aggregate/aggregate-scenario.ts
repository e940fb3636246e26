// `bench aggregate`: a generator writes N votes (Avro, real registry) straight into a fresh votes
// topic at a target rate; the aggregator role (a child process) counts them through the
// exactly-once path. Measures sustained votes/s, consumer lag over time, and checks the final
// tallies (sum of the Redis partials per survey) against the generator's expected counts.
// Exit status 1, with the first differing counts, if they differ.
// Then, on the same topic, a plain kafkajs consumer with the aggregator's fetch settings
// (consume-ceiling.ts) measures what kafkajs alone delivers: the report gives tally ÷ ceiling.
// --profile samples the aggregator with perf and splits its CPU per stage (stage-profile.ts).
import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { Admin, Producer } from 'kafkajs';
import { createKafka, ensureTopics, Partitioners } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { surveyHashKey, type SurveyPartial } from '../../src/partition-tally.js';
import { VoteCodec } from '../../src/vote-codec.js';
import { sampleLag, endOffsetTotal, type LagSample } from '../lib/consumer-lag.js';
import { barPlot, linePlot, type Plot, type Row } from '../lib/plots.js';
import { processTreeUsage } from '../lib/process-usage.js';
import { startRole, type RoleProcess } from '../lib/role-process.js';
import { PROJECT_ROOT, createRunContext, printHeader, type RunContext } from '../lib/run-context.js';
import { benchSurveyIds, createRunEnv } from '../lib/run-env.js';
import { markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import type { CeilingResult } from './consume-ceiling.js';
import type { SurveyCounts } from './expected-tally.js';
import { analyzePerf, perfAvailable, stageTable, startPerf, type StageProfile } from './stage-profile.js';
import { diffTallies, formatDifferences, sumPartials } from './tally-diff.js';
import { INVALID_KINDS, VoteGenerator, type GeneratedRecord } from './vote-generator.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface AggregateOptions {
  votes: number;
  rate: number;
  surveys: number;
  zipf: number;
  questions: number;
  options: number;
  duplicateRatio: number;
  invalidRatio: number;
  followUpRatio: number;
  hotShards: number;
  partitions: number;
  workers: number;
  batch: number;
  inFlight: number;
  preload: boolean;
  seed: number;
  drainTimeout: number;
  keep: boolean;
  /** Sample the aggregator with perf and report CPU per stage. */
  profile: boolean;
  /** Skip the kafkajs ceiling run. */
  ceiling: boolean;
  results?: string;
}

const REGIONS = ['EU', 'NA', 'SA', 'APAC', 'AF'];
const execFileAsync = promisify(execFile);

/** Runs the plain kafkajs consumer over the whole topic in a child process (consume-ceiling.ts). */
async function measureCeiling(env: Record<string, string>, records: number): Promise<CeilingResult> {
  const { stdout } = await execFileAsync(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'aggregate', 'consume-ceiling.js'), String(records)], {
    env: { ...process.env, ...env },
    timeout: 660_000,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as CeilingResult;
}

interface Timeline {
  t: number;
  produced: number;
  committed: number;
  lag: number;
  aggregatorCpuSeconds: number;
  aggregatorRssMiB: number;
}

async function readTallies(redis: Redis, surveyIds: string[]): Promise<Map<string, SurveyCounts>> {
  const pipeline = redis.pipeline();
  for (const id of surveyIds) pipeline.hgetall(surveyHashKey(id));
  const replies = (await pipeline.exec()) ?? [];
  const tallies = new Map<string, SurveyCounts>();
  replies.forEach(([error, hash], i) => {
    if (error) throw error;
    const partials = Object.values(hash as Record<string, string>).map((json) => JSON.parse(json) as SurveyPartial);
    if (partials.length > 0) tallies.set(surveyIds[i]!, sumPartials(partials));
  });
  return tallies;
}

/** Produces every record of the generator, paced to `rate` (0 = as fast as possible). */
async function produceAll(producer: Producer, topic: string, generator: VoteGenerator, options: AggregateOptions, onProgress: () => void): Promise<{ startedAt: number; finishedAt: number }> {
  const inFlight = new Set<Promise<unknown>>();
  const startedAt = performance.now();
  let lastProgress = startedAt;
  while (generator.produced < options.votes) {
    if (options.rate > 0) {
      const due = startedAt + (generator.produced / options.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    const size = Math.min(options.batch, options.votes - generator.produced);
    const messages: GeneratedRecord[] = generator.nextBatch(size, []);
    const sent = producer.send({ topic, acks: -1, messages });
    inFlight.add(sent);
    void sent.then(
      () => inFlight.delete(sent),
      () => inFlight.delete(sent),
    );
    if (inFlight.size >= options.inFlight) await Promise.race(inFlight);
    if (performance.now() - lastProgress > 2000) {
      lastProgress = performance.now();
      onProgress();
    }
  }
  await Promise.all(inFlight);
  return { startedAt, finishedAt: performance.now() };
}

export async function runAggregate(options: AggregateOptions): Promise<number> {
  const context = createRunContext('aggregate', { ...options }, options.results);
  printHeader(context);
  const runEnv = await createRunEnv({ runId: context.header.runId, partitions: options.partitions, workerThreads: options.workers });
  const { config } = runEnv;
  const logger = createLogger('bench', { logLevel: 'warn' });
  const kafka = createKafka(config, 'bench-generator', logger);
  const admin: Admin = kafka.admin();
  const redis = new Redis(config.redisUrl, { lazyConnect: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const surveyIds = benchSurveyIds(options.surveys);
  let aggregator: RoleProcess | undefined;
  const clock0 = performance.now();
  const now = () => performance.now() - clock0;
  const timeline: Timeline[] = [];
  const lagSamples: LagSample[] = [];
  let sampling: NodeJS.Timeout | undefined;
  let perf: ReturnType<typeof startPerf> | undefined;
  if (options.profile && !perfAvailable()) throw new Error('--profile needs perf (Debian: apt-get install linux-perf; scripts/bench.sh installs it)');
  try {
    await Promise.all([admin.connect(), producer.connect(), redis.connect()]);
    await ensureTopics(admin, config);
    const codec = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
    const schemaId = await codec.register();
    context.progress(`topic ${config.kafka.votesTopic} (${options.partitions} partitions), schema id ${schemaId}, ${options.surveys} surveys ${surveyIds[0]}…`);
    const generator = new VoteGenerator(
      {
        runTag: context.header.runId,
        surveys: options.surveys,
        zipfExponent: options.zipf,
        questions: options.questions,
        options: options.options,
        duplicateRatio: options.duplicateRatio,
        invalidRatio: options.invalidRatio,
        followUpRatio: options.followUpRatio,
        hotShards: options.hotShards,
        regions: REGIONS,
        seed: options.seed,
        surveyIds,
      },
      { schemaId, encode: (vote) => codec.encode(vote) },
    );

    // One sampler for the whole run: Kafka offsets (lag) and the aggregator's CPU and memory.
    let sampleBusy = false;
    const sample = async () => {
      if (sampleBusy) return;
      sampleBusy = true;
      try {
        const s = await sampleLag(admin, config.kafka.votesTopic, config.kafka.consumerGroup, now());
        lagSamples.push(s);
        const usage = aggregator ? processTreeUsage(aggregator.pid) : { cpuSeconds: 0, rssBytes: 0 };
        timeline.push({ t: s.t, produced: generator.produced, committed: s.committed, lag: s.lag, aggregatorCpuSeconds: usage.cpuSeconds, aggregatorRssMiB: usage.rssBytes / 2 ** 20 });
      } catch (error) {
        context.progress(`lag sample failed: ${(error as Error).message}`);
      } finally {
        sampleBusy = false;
      }
    };
    const startAggregator = async () => {
      context.progress('starting the aggregator');
      aggregator = await startRole({
        role: 'aggregate',
        port: config.ports.aggregate,
        env: runEnv.env,
        logDir: context.dir,
        readyTimeoutMs: 60_000,
        nodeArgs: options.profile ? ['--perf-basic-prof'] : [],
      });
      context.progress(`aggregator ready (pid ${aggregator.pid})`);
      if (options.profile) perf = startPerf(aggregator.pid, join(context.dir, 'perf.data'));
      return now();
    };
    sampling = setInterval(() => void sample(), 250);

    let aggregatorReadyAt = options.preload ? Number.NaN : await startAggregator();
    const progress = () => {
      const last = timeline.at(-1);
      context.progress(
        `produced ${generator.produced.toLocaleString('en-US')}/${options.votes.toLocaleString('en-US')} (${((generator.produced / options.votes) * 100).toFixed(1)}%)` +
          (last ? `, committed ${last.committed.toLocaleString('en-US')}, lag ${last.lag.toLocaleString('en-US')}` : ''),
      );
    };
    const produced = await produceAll(producer, config.kafka.votesTopic, generator, options, progress);
    const produceSeconds = (produced.finishedAt - produced.startedAt) / 1000;
    const producedAt = now();
    context.progress(`generator done: ${options.votes.toLocaleString('en-US')} records in ${produceSeconds.toFixed(1)} s (${Math.round(options.votes / produceSeconds).toLocaleString('en-US')} records/s)`);
    const topicEnd = await endOffsetTotal(admin, config.kafka.votesTopic);
    if (options.preload) aggregatorReadyAt = await startAggregator();
    const aggregatorCpuAtStart = aggregator ? processTreeUsage(aggregator.pid).cpuSeconds : 0;

    // Drain: wait until the group has committed every record of the topic.
    const drainDeadline = now() + options.drainTimeout * 1000;
    let lastReport = now();
    let drainedAt = Number.NaN;
    while (now() < drainDeadline) {
      await sleep(250);
      const last = lagSamples.at(-1);
      if (last && last.t > producedAt && last.committed >= topicEnd.total) {
        drainedAt = last.t;
        break;
      }
      if (aggregator && aggregator.child.exitCode !== null) throw new Error(`the aggregator exited (${aggregator.child.exitCode}); see ${aggregator.logPath}`);
      if (now() - lastReport > 2000) {
        lastReport = now();
        progress();
      }
    }
    clearInterval(sampling);
    sampling = undefined;
    const perfStopped = perf?.stop();
    perf = undefined;
    await sample();
    const aggregatorUsage = aggregator ? processTreeUsage(aggregator.pid) : { cpuSeconds: 0, rssBytes: 0, processes: 0 };
    const drained = Number.isFinite(drainedAt);

    // Final tallies: poll Redis until they match or stop changing for a few seconds.
    let actual = await readTallies(redis, surveyIds);
    let differences = diffTallies(generator.expected.surveys, actual);
    const settleDeadline = now() + 15_000;
    while (differences.length > 0 && now() < settleDeadline) {
      await sleep(1000);
      actual = await readTallies(redis, surveyIds);
      differences = diffTallies(generator.expected.surveys, actual);
    }
    const dlq = await endOffsetTotal(admin, config.kafka.dlqTopic).catch(() => ({ records: -1 }));

    let profile: StageProfile | undefined;
    if (perfStopped && aggregator) {
      await perfStopped;
      context.progress('analysing the perf samples (perf script)');
      profile = await analyzePerf(join(context.dir, 'perf.data'), aggregator.pid, topicEnd.records);
      // Kept beside perf.data for a closer look: cp it back to /tmp, then `perf script -i perf.data`.
      copyFileSync(`/tmp/perf-${aggregator.pid}.map`, join(context.dir, `perf-${aggregator.pid}.map`));
      rmSync(`/tmp/perf-${aggregator.pid}.map`, { force: true });
    }
    // The ceiling runs alone: the aggregator stops first (its graceful stop is checked here too).
    const aggregatorExit = aggregator ? await aggregator.stop() : null;
    context.progress(`aggregator stopped: ${aggregatorExit}`);
    let ceiling: CeilingResult | undefined;
    if (options.ceiling && drained) {
      context.progress('measuring the kafkajs consume ceiling on the same topic (plain consumer, no processing)');
      ceiling = await measureCeiling(runEnv.env, topicEnd.records);
      context.progress(`ceiling: ${Math.round(ceiling.recordsPerSecond).toLocaleString('en-US')} records/s, ${ceiling.cpuMicrosPerRecord.toFixed(2)} µs CPU per record`);
    }

    // Throughput: from the first sample that saw a commit to the first that saw the last one; the
    // records committed before the first such sample are outside the window, so not counted.
    const firstProgress = lagSamples.find((s) => s.committed > 0);
    const throughputWindow = firstProgress && drained ? (drainedAt - firstProgress.t) / 1000 : Number.NaN;
    const windowRecords = firstProgress ? topicEnd.total - firstProgress.committed : 0;
    const sustained = drained ? windowRecords / throughputWindow : Number.NaN;
    const rates: Row[] = [];
    for (let i = 1; i < timeline.length; i++) {
      const a = timeline[i - 1]!;
      const b = timeline[i]!;
      const dt = (b.t - a.t) / 1000;
      if (dt <= 0) continue;
      rates.push({ seconds: b.t / 1000, series: 'committed by the aggregator', votesPerSecond: (b.committed - a.committed) / dt });
      rates.push({ seconds: b.t / 1000, series: 'produced by the generator', votesPerSecond: (b.produced - a.produced) / dt });
    }
    // Peak: the best 5-second window of committed progress.
    let peak = 0;
    for (let i = 0, j = 0; i < timeline.length; i++) {
      while (j < i && timeline[i]!.t - timeline[j]!.t > 5000) j++;
      const dt = (timeline[i]!.t - timeline[j]!.t) / 1000;
      if (dt >= 2) peak = Math.max(peak, (timeline[i]!.committed - timeline[j]!.committed) / dt);
    }
    const maxLag = Math.max(0, ...lagSamples.map((s) => s.lag));
    // CPU over the same window as the throughput (first commit → last commit).
    const lastSample = timeline.find((t) => t.t >= drainedAt) ?? timeline.at(-1);
    const firstSample = timeline.find((t) => t.t >= (firstProgress?.t ?? 0));
    const aggregatorCpu = firstSample && lastSample ? lastSample.aggregatorCpuSeconds - firstSample.aggregatorCpuSeconds : aggregatorUsage.cpuSeconds - aggregatorCpuAtStart;

    const expectedOutcomes = generator.expected.outcomes;
    const checks: Check[] = [
      {
        name: 'drained',
        passed: drained,
        detail: drained ? `every record committed ${((drainedAt - producedAt) / 1000).toFixed(1)} s after the generator finished` : `records still uncommitted after --drain-timeout ${options.drainTimeout} s (lag ${lagSamples.at(-1)?.lag})`,
      },
      {
        name: 'exact tallies',
        passed: differences.length === 0,
        detail: differences.length === 0 ? `${generator.expected.surveys.size} surveys: responses, votes and regions equal the expected counts` : `${differences.length} counts differ; first:\n${formatDifferences(differences, 10)}`,
      },
      {
        name: 'invalid records in the DLQ',
        passed: dlq.records === expectedOutcomes.invalid,
        detail: `${dlq.records} records in ${config.kafka.dlqTopic}, ${expectedOutcomes.invalid} invalid records generated`,
      },
      {
        name: 'records written once',
        passed: topicEnd.records === options.votes,
        detail: `${topicEnd.records} records in the topic for ${options.votes} generated (a producer retry would add duplicates; tallies stay exact, the DLQ count may not)`,
      },
    ];
    const figures: Figure[] = [
      { name: 'aggregator sustained throughput', value: Math.round(sustained), unit: 'votes/s', meaning: 'records committed through the exactly-once path ÷ time from the first commit to the last (design target: 240,000)' },
      { name: 'aggregator peak throughput (5 s)', value: Math.round(peak), unit: 'votes/s', meaning: 'best 5-second window of committed records' },
      { name: 'generator rate', value: Math.round(options.votes / produceSeconds), unit: 'records/s', meaning: `records written to Kafka per second (target --rate ${options.rate || 'unlimited'})` },
      { name: 'max consumer lag', value: maxLag, unit: 'records', meaning: 'largest (end offset − committed offset) summed over partitions, sampled every 0.5 s' },
      { name: 'aggregator ready → drained', value: drained ? Math.round((drainedAt - aggregatorReadyAt) / 100) / 10 : 'not drained', unit: 's', meaning: 'from /readyz of the aggregator to the last record committed (includes joining the group)' },
      { name: 'drain after generator', value: drained ? Math.round((drainedAt - producedAt) / 100) / 10 : 'not drained', unit: 's', meaning: 'time from the last record written to the last record committed' },
      { name: 'exactness', value: differences.length === 0 ? 'exact' : `${differences.length} counts differ`, meaning: 'final Redis tallies vs the generator\'s expected counts (docs/counting-rules.md)' },
      { name: 'aggregator CPU', value: Math.round(aggregatorCpu * 10) / 10, unit: 'CPU-seconds', meaning: `user+system time of the aggregator process tree from the first commit to the last (${(aggregatorCpu / Math.max(1, throughputWindow)).toFixed(2)} cores on average)` },
      { name: 'aggregator CPU per record', value: Math.round((aggregatorCpu / Math.max(1, windowRecords)) * 1e8) / 100, unit: 'µs', meaning: 'aggregator CPU-seconds over the throughput window ÷ records committed in it (the ceiling below is measured the same way)' },
      ...(ceiling
        ? [
            { name: 'kafkajs consume ceiling', value: Math.round(ceiling.recordsPerSecond), unit: 'records/s', meaning: 'a plain kafkajs consumer (same fetch settings, no processing) reading the same topic after the aggregator stopped' },
            { name: 'tally ÷ ceiling', value: `${((sustained / ceiling.recordsPerSecond) * 100).toFixed(1)} %`, meaning: 'aggregator sustained throughput ÷ kafkajs consume ceiling, same run, same topic (target ≥ 60 %)' },
            { name: 'ceiling CPU per record', value: Math.round(ceiling.cpuMicrosPerRecord * 100) / 100, unit: 'µs', meaning: 'CPU of the plain consumer process per record: what kafkajs itself costs' },
          ]
        : []),
      { name: 'aggregator memory (max RSS)', value: Math.round(Math.max(0, ...timeline.map((t) => t.aggregatorRssMiB))), unit: 'MiB', meaning: 'largest resident set of the aggregator process tree' },
    ];
    const perSurvey = surveyIds.slice(0, 10).map((id, i) => [
      i,
      id,
      generator.recordsPerSurvey[i]!,
      generator.expected.surveys.get(id)?.responses ?? 0,
      actual.get(id)?.responses ?? 0,
    ]);
    const outcome = {
      figures,
      checks,
      sections: [
        {
          title: 'Records generated',
          markdown: [
            markdownTable(['outcome', 'records', 'share'], (['accepted', 'duplicate', 'invalid'] as const).map((k) => [k, expectedOutcomes[k], `${((expectedOutcomes[k] / options.votes) * 100).toFixed(2)} %`])),
            '',
            markdownTable(['invalid kind', 'records'], INVALID_KINDS.map((k) => [k, generator.invalidByKind[k]])),
            '',
            'Hottest surveys (Zipf rank 0 is keyed over `--hot-shards` partitions):',
            '',
            markdownTable(['rank', 'survey', 'records', 'expected responses', 'actual responses'], perSurvey),
          ].join('\n'),
        },
        ...(differences.length > 0 ? [{ title: 'First differing counts', markdown: '```\n' + formatDifferences(differences, 50) + '\n```' }] : []),
        ...(profile
          ? [
              {
                title: 'Aggregator CPU per stage (perf)',
                markdown: [
                  `perf record -F 999 -g on every thread of the aggregator from /readyz to the drain: ${profile.samples.toLocaleString('en-US')} samples over ${profile.records.toLocaleString('en-US')} records. Each sample goes to the first stage whose rule matches a frame, leaf first (bench/aggregate/stage-profile.ts), so GC, SHA-256 in OpenSSL and RocksDB in the libuv pool count where they run.`,
                  '',
                  stageTable(profile),
                  '',
                  'Most frequent leaf symbols of the samples no stage rule matched:',
                  '',
                  markdownTable(['symbol', 'samples'], profile.unmatchedTop.slice(0, 12).map(([symbol, n]) => [symbol.slice(0, 120), n])),
                ].join('\n'),
              },
            ]
          : []),
      ],
      plots: [
        linePlot('lag-over-time', 'Consumer lag over time', lagSamples.map((s) => ({ seconds: s.t / 1000, lag: s.lag })), { field: 'seconds', title: 'seconds since start' }, { field: 'lag', title: 'lag (records)' }),
        linePlot('throughput-over-time', 'Throughput over time', rates, { field: 'seconds', title: 'seconds since start' }, { field: 'votesPerSecond', title: 'records/s' }, 'series'),
        ...ceilingPlots(sustained, aggregatorCpu / Math.max(1, windowRecords), ceiling),
        ...(profile ? [stagePlot(profile)] : []),
        linePlot('aggregator-cpu', 'Aggregator CPU-seconds (cumulative)', timeline.map((t) => ({ seconds: t.t / 1000, cpu: t.aggregatorCpuSeconds })), { field: 'seconds', title: 'seconds since start' }, { field: 'cpu', title: 'CPU-seconds' }),
      ],
      data: {
        topic: config.kafka.votesTopic,
        surveyIds,
        produce: { seconds: produceSeconds, records: topicEnd.records },
        aggregatorReadyAtSeconds: aggregatorReadyAt / 1000,
        throughputWindowSeconds: throughputWindow,
        expectedOutcomes,
        invalidByKind: generator.invalidByKind,
        dlqRecords: dlq.records,
        ceiling,
        profile,
        aggregatorExit,
        differences: differences.slice(0, 1000),
        timeline,
        lagSamples,
        aggregatorLog: aggregator?.logPath,
      },
    };
    const written = await writeReport(context, outcome);
    printOutcome(context, outcome, written);
    if (differences.length > 0) {
      process.stderr.write(`\n[bench aggregate] FAIL: final tallies differ from the expected counts (${differences.length} counts):\n${formatDifferences(differences, 20)}\n\n`);
    }
    return written.passed ? 0 : 1;
  } finally {
    if (sampling) clearInterval(sampling);
    if (aggregator && aggregator.child.exitCode === null && aggregator.child.signalCode === null) context.progress(`aggregator stopped: ${await aggregator.stop()}`);
    if (perf) await perf.stop().catch(() => undefined);
    await cleanUp(context, options.keep, { admin, redis, producer, topics: [config.kafka.votesTopic, config.kafka.dlqTopic], group: config.kafka.consumerGroup, surveyIds, removeDataDir: runEnv.removeDataDir });
  }
}

/** Tally beside the plain kafkajs consumer: records/s and CPU µs per record. */
function ceilingPlots(sustained: number, cpuPerRecord: number, ceiling: CeilingResult | undefined): Plot[] {
  if (!ceiling || !Number.isFinite(sustained)) return [];
  return [
    barPlot(
      'tally-vs-ceiling',
      'Tally vs the kafkajs consume ceiling (same topic, same run)',
      [
        { consumer: 'kafkajs, no processing (ceiling)', recordsPerSecond: Math.round(ceiling.recordsPerSecond) },
        { consumer: 'tally aggregate (exactly-once)', recordsPerSecond: Math.round(sustained) },
      ],
      { field: 'consumer', title: '' },
      { field: 'recordsPerSecond', title: 'records/s' },
    ),
    barPlot(
      'cpu-per-record',
      'CPU per record: tally vs the kafkajs consume ceiling',
      [
        { consumer: 'kafkajs, no processing (ceiling)', micros: Math.round(ceiling.cpuMicrosPerRecord * 100) / 100 },
        { consumer: 'tally aggregate (exactly-once)', micros: Math.round(cpuPerRecord * 1e8) / 100 },
      ],
      { field: 'consumer', title: '' },
      { field: 'micros', title: 'µs of CPU per record' },
    ),
  ];
}

/** One bar per stage, stacked by the kind of thread it ran on. */
function stagePlot(profile: StageProfile): Plot {
  const rows: Row[] = [];
  for (const [stage, byKind] of Object.entries(profile.micros)) {
    for (const [kind, micros] of Object.entries(byKind)) rows.push({ stage, thread: kind, micros: Math.round((micros ?? 0) * 1000) / 1000 });
  }
  rows.sort((a, b) => Number(b.micros) - Number(a.micros));
  return barPlot('cpu-per-stage', 'Aggregator CPU per record, by stage and thread (perf)', rows, { field: 'stage', title: '' }, { field: 'micros', title: 'µs of CPU per record' }, 'thread');
}

async function cleanUp(
  context: RunContext,
  keep: boolean,
  what: { admin: Admin; redis: Redis; producer: Producer; topics: string[]; group: string; surveyIds: string[]; removeDataDir: () => void },
): Promise<void> {
  await what.producer.disconnect().catch(() => undefined);
  if (!keep) {
    await what.admin.deleteTopics({ topics: what.topics }).catch((error: Error) => context.progress(`could not delete topics: ${error.message}`));
    await what.admin.deleteGroups([what.group]).catch(() => undefined);
    if (what.redis.status === 'ready') await what.redis.del(...what.surveyIds.map(surveyHashKey)).catch(() => undefined);
    what.removeDataDir();
  } else {
    context.progress(`kept topics ${what.topics.join(', ')}, group ${what.group}, Redis keys and the data dir (--keep)`);
  }
  await what.admin.disconnect().catch(() => undefined);
  what.redis.disconnect();
}
