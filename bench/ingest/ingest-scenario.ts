// `bench ingest`: HTTP votes → ingest role → Kafka. Accepted votes/s, latency percentiles (HDR),
// errors by status and code, and a check that every accepted vote is in the votes topic.
import type { Admin } from 'kafkajs';
import { createKafka, ensureTopics } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { endOffsetTotal } from '../lib/consumer-lag.js';
import { cdfPoints, summarize } from '../lib/latency-histogram.js';
import { latencyCdfPlot, linePlot } from '../lib/plots.js';
import { processTreeUsage } from '../lib/process-usage.js';
import { latencyTable, markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import { startRole, type RoleProcess } from '../lib/role-process.js';
import { createRunContext, printHeader } from '../lib/run-context.js';
import { createRunEnv } from '../lib/run-env.js';
import { createSurveys, deleteSurveys, type BenchSurvey } from '../lib/survey-setup.js';
import { runVoteLoad } from './vote-load.js';

export interface IngestOptions {
  concurrency: number;
  duration: number;
  warmup: number;
  rate: number;
  surveys: number;
  questions: number;
  options: number;
  zipf: number;
  partitions: number;
  seed: number;
  keep: boolean;
  results?: string;
}

/** Rate limits out of the way: the bench measures capacity, from one source address. */
export const BENCH_RATE_LIMITS = { TALLY_RATE_LIMIT_PER_IP: '1000000000', TALLY_RATE_LIMIT_PER_VOTER: '1000000' };

export async function runIngest(options: IngestOptions): Promise<number> {
  const context = createRunContext('ingest', { ...options }, options.results);
  printHeader(context);
  const runEnv = await createRunEnv({ runId: context.header.runId, partitions: options.partitions, extra: BENCH_RATE_LIMITS });
  const { config } = runEnv;
  const kafka = createKafka(config, 'bench-ingest', createLogger('bench', { logLevel: 'warn' }));
  const admin: Admin = kafka.admin();
  let ingest: RoleProcess | undefined;
  let surveys: BenchSurvey[] = [];
  try {
    await admin.connect();
    await ensureTopics(admin, config);
    ingest = await startRole({ role: 'ingest', port: config.ports.ingest, env: runEnv.env, logDir: context.dir });
    context.progress(`ingest ready (pid ${ingest.pid}) on port ${config.ports.ingest}`);
    surveys = await createSurveys(config, config.ports.ingest, { count: options.surveys, questions: options.questions, options: options.options, runId: context.header.runId });
    context.progress(`${surveys.length} surveys published (${surveys[0]?.id}…); ${options.warmup} s warm-up, then ${options.duration} s at concurrency ${options.concurrency}${options.rate ? `, ${options.rate} votes/s` : ''}`);
    const before = processTreeUsage(ingest.pid);
    const usageSamples: { seconds: number; cpuSeconds: number; rssMiB: number }[] = [];
    const sampler = setInterval(() => {
      const u = processTreeUsage(ingest!.pid);
      usageSamples.push({ seconds: usageSamples.length + 1, cpuSeconds: u.cpuSeconds - before.cpuSeconds, rssMiB: u.rssBytes / 2 ** 20 });
    }, 1000);
    let secondsPrinted = 0;
    const load = await runVoteLoad(
      config,
      { port: config.ports.ingest, surveys, zipf: options.zipf, concurrency: options.concurrency, rate: options.rate, warmupSeconds: options.warmup, durationSeconds: options.duration, runId: context.header.runId, seed: options.seed, regions: ['EU', 'NA', 'APAC'] },
      undefined,
      (line) => {
        if (secondsPrinted++ % 5 === 4) context.progress(line);
      },
    );
    clearInterval(sampler);
    const after = processTreeUsage(ingest.pid);
    const topic = await endOffsetTotal(admin, config.kafka.votesTopic);
    const errorsTotal = Object.values(load.errors).reduce((a, b) => a + b, 0);
    const votesPerSecond = load.accepted / load.measuredSeconds;
    const latency = summarize(load.latency);
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const figures: Figure[] = [
      { name: 'accepted votes/s', value: Math.round(votesPerSecond), unit: 'votes/s', meaning: `202 answers per second over the ${options.duration} s measured phase (after ${options.warmup} s warm-up)` },
      { name: 'latency p50', value: latency.p50Ms, unit: 'ms', meaning: 'request sent → 202 received (the vote is acknowledged by Kafka)' },
      { name: 'latency p99', value: latency.p99Ms, unit: 'ms', meaning: '99th percentile of the same' },
      { name: 'latency p99.9', value: latency.p999Ms, unit: 'ms', meaning: '99.9th percentile' },
      { name: 'latency max', value: latency.maxMs, unit: 'ms', meaning: 'slowest accepted request' },
      { name: 'errors', value: errorsTotal, unit: 'requests', meaning: 'non-202 answers and transport errors in the measured phase (by code below)' },
      { name: 'ingest CPU', value: Math.round((cpu / Math.max(1, load.accepted + errorsTotal)) * 1e6), unit: 'µs/request', meaning: `CPU time of the ingest process per request (${(cpu / load.measuredSeconds).toFixed(2)} cores on average; warm-up included)` },
      { name: 'ingest memory', value: Math.round(after.rssBytes / 2 ** 20), unit: 'MiB', meaning: 'resident set of the ingest process at the end' },
    ];
    const checks: Check[] = [
      {
        name: 'accepted votes are in Kafka',
        passed: topic.records >= load.acceptedTotal,
        detail: `${topic.records} records in ${config.kafka.votesTopic} for ${load.acceptedTotal} votes answered 202 (warm-up included)`,
      },
    ];
    const outcome = {
      figures,
      checks,
      sections: [
        { title: 'Latency', markdown: latencyTable({ 'accepted (202)': latency, 'errors': summarize(load.errorLatency) }) },
        { title: 'Errors', markdown: errorsTotal === 0 ? 'none' : markdownTable(['status / code', 'count'], Object.entries(load.errors).sort((a, b) => b[1] - a[1])) },
      ],
      plots: [
        latencyCdfPlot('latency-cdf', 'Vote request latency (CDF)', { 'accepted (202)': load.latency }),
        linePlot('accepted-per-second', 'Accepted votes per second', load.perSecond.map((p) => ({ second: p.second, votes: p.accepted })), { field: 'second', title: 'second of the measured phase' }, { field: 'votes', title: 'accepted votes/s' }),
        linePlot('ingest-cpu', 'Ingest CPU-seconds (cumulative)', usageSamples, { field: 'seconds', title: 'seconds' }, { field: 'cpuSeconds', title: 'CPU-seconds' }),
      ],
      data: { surveys: surveys.map((s) => s.id), latency, latencyCdf: cdfPoints(load.latency), errors: load.errors, perSecond: load.perSecond, topicRecords: topic.records, acceptedTotal: load.acceptedTotal, usageSamples, ingestLog: ingest.logPath },
    };
    const written = await writeReport(context, outcome);
    printOutcome(context, outcome, written);
    return written.passed ? 0 : 1;
  } finally {
    if (ingest && !options.keep) await deleteSurveys(config, config.ports.ingest, surveys);
    if (ingest) context.progress(`ingest stopped: ${await ingest.stop()}`);
    if (!options.keep) await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    runEnv.removeDataDir();
  }
}
