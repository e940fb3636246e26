// `bench aggregate`: a generator writes N votes (Avro, real registry) straight into a fresh votes
// topic at a target rate; the aggregator role (a child process) counts them through the
// exactly-once path. Measures sustained votes/s, consumer lag over time, and checks the final
// tallies (sum of the Redis partials per survey) against the generator's expected counts.
// Exit status 1, with the first differing counts, if they differ.
import { Redis } from 'ioredis';
import type { Admin, Producer } from 'kafkajs';
import { createKafka, ensureTopics, Partitioners } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { surveyHashKey, type SurveyPartial } from '../../src/partition-tally.js';
import { VoteCodec } from '../../src/vote-codec.js';
import { sampleLag, endOffsetTotal, type LagSample } from '../lib/consumer-lag.js';
import { linePlot, type Row } from '../lib/plots.js';
import { processTreeUsage } from '../lib/process-usage.js';
import { startRole, type RoleProcess } from '../lib/role-process.js';
import { createRunContext, printHeader, type RunContext } from '../lib/run-context.js';
import { benchSurveyIds, createRunEnv } from '../lib/run-env.js';
import { markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import type { SurveyCounts } from './expected-tally.js';
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
  results?: string;
}

const REGIONS = ['EU', 'NA', 'SA', 'APAC', 'AF'];

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
      aggregator = await startRole({ role: 'aggregate', port: config.ports.aggregate, env: runEnv.env, logDir: context.dir, readyTimeoutMs: 60_000 });
      context.progress(`aggregator ready (pid ${aggregator.pid})`);
      return now();
    };
    sampling = setInterval(() => void sample(), 500);

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
    await sample();
    const aggregatorUsage = aggregator ? processTreeUsage(aggregator.pid) : { cpuSeconds: 0, rssBytes: 0, processes: 0 };

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

    // Throughput: from the first committed progress to the last record committed.
    const firstProgress = lagSamples.find((s) => s.committed > 0);
    const drained = Number.isFinite(drainedAt);
    const throughputWindow = firstProgress && drained ? (drainedAt - firstProgress.t) / 1000 : Number.NaN;
    const sustained = drained ? topicEnd.records / throughputWindow : Number.NaN;
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
      ],
      plots: [
        linePlot('lag-over-time', 'Consumer lag over time', lagSamples.map((s) => ({ seconds: s.t / 1000, lag: s.lag })), { field: 'seconds', title: 'seconds since start' }, { field: 'lag', title: 'lag (records)' }),
        linePlot('throughput-over-time', 'Throughput over time', rates, { field: 'seconds', title: 'seconds since start' }, { field: 'votesPerSecond', title: 'records/s' }, 'series'),
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
    if (aggregator) context.progress(`aggregator stopped: ${await aggregator.stop()}`);
    await cleanUp(context, options.keep, { admin, redis, producer, topics: [config.kafka.votesTopic, config.kafka.dlqTopic], group: config.kafka.consumerGroup, surveyIds, removeDataDir: runEnv.removeDataDir });
  }
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
