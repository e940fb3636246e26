// `bench ingest`: HTTP votes → ingest role (a cluster of `--processes`) → Kafka, and its ceiling in
// the same run: a bare Fastify route (bare-server.ts) in the same shape, driven by the same generator.
//
//   phase 1  tally, closed loop (or paced at --rate)      → votes/s, latency, CPU per vote
//   phase 2  tally, paced at --paced-fraction × phase 1   → p99 at 80 % of the maximum rate
//   phase 3  bare route, same requests, same loop as 1    → the framework's floor
//   phase 4  bare route paced at phase 1's rate           → CPU per request at equal load (closed loop only)
//   check    every vote answered 202 is in the topic exactly once
//
// CPU: the server's (its process tree, from /proc) and the generator's own (process.cpuUsage),
// both over the measured phase only, per request.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka, ensureTopics } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { cdfPoints, summarize, type Histogram, type LatencySummary } from '../lib/latency-histogram.js';
import { groupedBarPlot, latencyCdfPlot, linePlot } from '../lib/plots.js';
import { processTreeUsage, treeCpuDelta, type ProcessUsage } from '../lib/process-usage.js';
import { latencyTable, markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import { freePort, startRole, waitForReady, type RoleProcess } from '../lib/role-process.js';
import { createRunContext, printHeader, PROJECT_ROOT, type RunContext } from '../lib/run-context.js';
import { createRunEnv } from '../lib/run-env.js';
import { createSurveys, deleteSurveys, type BenchSurvey } from '../lib/survey-setup.js';
import { deleteClaimKeys } from './claim-keys.js';
import { runHttpLoad, type HttpLoadResult } from './http-load.js';
import { readTopicVoteIds } from './topic-vote-ids.js';
import { errorLabel, VoteRequests, voteIdOf, VoterTokens } from './vote-requests.js';

export interface IngestOptions {
  concurrency: number;
  duration: number;
  warmup: number;
  rate: number;
  pacedFraction: number;
  /** connections of paced phases; 0 = 4 × concurrency */
  pacedConcurrency?: number;
  processes: number;
  peer: boolean;
  voters: number;
  surveys: number;
  questions: number;
  options: number;
  zipf: number;
  partitions: number;
  seed: number;
  keep: boolean;
  cpuProf: boolean;
  results?: string;
}

/** Rate limits out of the way: the bench measures capacity, from one source address. */
export const BENCH_RATE_LIMITS = { TALLY_RATE_LIMIT_PER_IP: '1000000000', TALLY_RATE_LIMIT_PER_VOTER: '1000000' };

/** Acceptance targets (issue 11), shown in the report; they do not fail the run (checks do). */
const TARGETS = { cpuRatio: 1.75, rateShare: 0.55, pacedP99Ms: 100 };
/** Above this the generator may be what limits the run, and the report says so. */
const GENERATOR_CORES_WARNING = 0.5;

interface Phase {
  name: string;
  rate: number;
  /** generator connections (paced phases: --paced-concurrency) */
  connections: number;
  load: HttpLoadResult;
  serverCpuSeconds: number;
  loadAverage: number[];
  latency: LatencySummary;
  /** successful answers per second of the measured phase */
  perSecond: number;
  serverUsPerRequest: number;
  generatorUsPerRequest: number;
  generatorCores: number;
}

interface PhaseSpec {
  name: string;
  port: number;
  serverPid: number;
  rate: number;
  requests: VoteRequests;
  tokens: VoterTokens;
  /** 202 vote ids are collected here (tally phases) */
  accepted?: Set<string>;
}

/** CPU-seconds of the server's process tree; a read that found no process (a /proc race) is retried. */
function serverUsageOf(pid: number): ProcessUsage | null {
  for (let attempt = 0; attempt < 5; attempt++) {
    const usage = processTreeUsage(pid);
    if (usage.processes > 0) return usage;
  }
  return null; // shows as NaN in the report rather than as a wrong figure
}

async function runPhase(context: RunContext, options: IngestOptions, spec: PhaseSpec): Promise<Phase> {
  const loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
  // Paced (open loop): due requests wait for an idle socket, so with as few sockets as the closed loop
  // uses, a server whose latency is mostly waiting (Redis, Kafka acks) would queue in the generator.
  const connections = spec.rate > 0 ? options.pacedConcurrency || 4 * options.concurrency : options.concurrency;
  context.progress(`${spec.name}: ${options.warmup} s warm-up, ${options.duration} s measured, ${connections} connections, ${spec.rate > 0 ? `${spec.rate} requests/s` : 'closed loop'} (load average ${loadAverage.join(' ')})`);
  let serverAtStart: ProcessUsage | null = null;
  let serverAtEnd: ProcessUsage | null = null;
  let printed = 0;
  spec.tokens.duringLoad(true);
  const load = await runHttpLoad({
    port: spec.port,
    connections,
    rate: spec.rate,
    warmupSeconds: options.warmup,
    durationSeconds: options.duration,
    request: (i) => spec.requests.request(i),
    classify: (_i, status, body) => {
      if (status !== 202) return errorLabel(status, body);
      if (spec.accepted !== undefined) {
        const id = voteIdOf(body);
        if (id !== null) spec.accepted.add(id);
      }
      return null;
    },
    onMeasureStart: () => (serverAtStart = serverUsageOf(spec.serverPid)),
    onMeasureEnd: () => (serverAtEnd = serverUsageOf(spec.serverPid)),
    onSecond: (line) => {
      if (printed++ % 5 === 4) context.progress(`${spec.name}: ${line}`);
    },
  });
  spec.tokens.duringLoad(false);
  const errors = Object.values(load.errors).reduce((a, b) => a + b, 0);
  const requests = Math.max(1, load.ok + errors);
  const serverDelta = serverAtStart !== null && serverAtEnd !== null ? treeCpuDelta(serverAtStart, serverAtEnd) : { cpuSeconds: Number.NaN, vanished: 0 };
  if (serverDelta.vanished > 0) context.progress(`${spec.name}: ${serverDelta.vanished} server process(es) left the tree during the measured phase: their CPU in it is not counted`);
  const serverCpuSeconds = serverDelta.cpuSeconds;
  const phase: Phase = {
    name: spec.name,
    rate: spec.rate,
    connections,
    load,
    serverCpuSeconds,
    loadAverage,
    latency: summarize(load.latency),
    perSecond: load.ok / load.measuredSeconds,
    serverUsPerRequest: (serverCpuSeconds / requests) * 1e6,
    generatorUsPerRequest: (load.generatorCpuSeconds / requests) * 1e6,
    generatorCores: load.generatorCpuSeconds / load.measuredSeconds,
  };
  context.progress(
    `${spec.name}: ${Math.round(phase.perSecond)} ok/s, server ${Math.round(phase.serverUsPerRequest)} µs/request, generator ${Math.round(phase.generatorUsPerRequest)} µs/request (${phase.generatorCores.toFixed(2)} cores), p99 ${phase.latency.p99Ms} ms, errors ${errors}`,
  );
  return phase;
}

interface BareProcess {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function startBare(context: RunContext, processes: number): Promise<BareProcess> {
  const port = await freePort();
  const logPath = join(context.dir, `bare-${port}.log`);
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'bench', 'ingest', 'bare-server.js')], {
    env: { ...process.env, BARE_PORT: String(port), BARE_PROCESSES: String(processes) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  await waitForReady(`http://127.0.0.1:${port}/readyz`, 30_000, () => child.exitCode === null);
  return {
    pid: child.pid!,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

function errorsTable(phases: Phase[]): string {
  const labels = [...new Set(phases.flatMap((p) => Object.keys(p.load.errors)))].sort();
  if (labels.length === 0) return 'none';
  return markdownTable(['status / code', ...phases.map((p) => p.name)], labels.map((label) => [label, ...phases.map((p) => p.load.errors[label] ?? 0)]));
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export async function runIngest(options: IngestOptions): Promise<number> {
  const context = createRunContext('ingest', { ...options }, options.results);
  printHeader(context);
  const runEnv = await createRunEnv({
    runId: context.header.runId,
    partitions: options.partitions,
    extra: { ...BENCH_RATE_LIMITS, TALLY_INGEST_PROCESSES: String(options.processes) },
  });
  const { config } = runEnv;
  const kafka: Kafka = createKafka(config, 'bench-ingest', createLogger('bench', { logLevel: 'warn' }));
  const admin: Admin = kafka.admin();
  let ingest: RoleProcess | undefined;
  let bare: BareProcess | undefined;
  const surveys: BenchSurvey[] = [];
  const tokens = new VoterTokens(config, context.header.runId);
  const accepted = new Set<string>();
  const phases: Phase[] = [];
  const requestsFor = (port: number, set: BenchSurvey[]) =>
    new VoteRequests(tokens, { port, surveys: set, zipf: options.zipf, seed: options.seed, regions: ['EU', 'NA', 'APAC'] });
  try {
    await admin.connect();
    await ensureTopics(admin, config);
    // --cpu-prof: every ingest process writes a V8 CPU profile into the results folder when it exits.
    const nodeArgs = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${context.dir}`] : [];
    ingest = await startRole({ role: 'ingest', port: config.ports.ingest, env: runEnv.env, logDir: context.dir, nodeArgs });
    context.progress(`ingest ready (pid ${ingest.pid}, ${options.processes} processes) on port ${config.ports.ingest}`);
    const newSurveys = async () => {
      const set = await createSurveys(config, config.ports.ingest, { count: options.surveys, questions: options.questions, options: options.options, runId: context.header.runId });
      surveys.push(...set);
      return set;
    };
    const first = await newSurveys();
    const minting = performance.now();
    tokens.fill(options.voters, (line) => context.progress(line));
    context.progress(`${tokens.size.toLocaleString('en-US')} voter tokens minted in ${((performance.now() - minting) / 1000).toFixed(1)} s`);

    const tallyMax = await runPhase(context, options, { name: 'tally', port: config.ports.ingest, serverPid: ingest.pid, rate: options.rate, requests: requestsFor(config.ports.ingest, first), tokens, accepted });
    phases.push(tallyMax);
    let paced: Phase | undefined;
    if (options.rate === 0 && options.pacedFraction > 0) {
      // Another set of surveys: the same voter tokens vote again without being duplicates.
      const second = await newSurveys();
      const rate = Math.max(1, Math.round(tallyMax.perSecond * options.pacedFraction));
      paced = await runPhase(context, options, { name: `tally at ${Math.round(options.pacedFraction * 100)} %`, port: config.ports.ingest, serverPid: ingest.pid, rate, requests: requestsFor(config.ports.ingest, second), tokens, accepted });
      phases.push(paced);
    }
    if (!options.keep) await deleteSurveys(config, config.ports.ingest, surveys);
    context.progress(`ingest stopped: ${await ingest.stop()}`);
    const ingestLog = ingest.logPath;
    ingest = undefined;

    let barePhase: Phase | undefined;
    let bareAtTallyRate: Phase | undefined;
    if (options.peer) {
      bare = await startBare(context, options.processes);
      context.progress(`bare route ready (pid ${bare.pid}, ${options.processes} processes) on port ${bare.port}`);
      // The bare route checks no token: it may see the same ones again (no minting during its load).
      const bareRequests = new VoteRequests(tokens, { port: bare.port, surveys: first, zipf: options.zipf, seed: options.seed, regions: ['EU', 'NA', 'APAC'], cycleTokens: true });
      barePhase = await runPhase(context, options, { name: 'bare route', port: bare.port, serverPid: bare.pid, rate: options.rate, requests: bareRequests, tokens });
      phases.push(barePhase);
      if (options.rate === 0) {
        // CPU per request falls as the rate rises (more requests per event-loop turn, per write, per
        // timer): the bare route again, paced at tally's closed-loop rate, compares the two at equal load.
        const rate = Math.max(1, Math.round(tallyMax.perSecond));
        bareAtTallyRate = await runPhase(context, options, { name: 'bare route at tally rate', port: bare.port, serverPid: bare.pid, rate, requests: bareRequests, tokens });
        phases.push(bareAtTallyRate);
      }
      await bare.stop();
      bare = undefined;
    }

    const topic = await readTopicVoteIds(kafka, config.kafka.votesTopic, (line) => context.progress(line));
    let missing = 0;
    let repeated = 0;
    for (const id of accepted) {
      const count = topic.counts.get(id) ?? 0;
      if (count === 0) missing += 1;
      else if (count > 1) repeated += 1;
    }
    const unanswered = [...topic.counts.keys()].filter((id) => !accepted.has(id)).length;

    const figures: Figure[] = [
      { name: 'accepted votes/s', value: Math.round(tallyMax.perSecond), unit: 'votes/s', meaning: `202 answers per second, ${options.rate > 0 ? `paced at ${options.rate}/s` : 'closed loop'}, ${options.processes} ingest processes` },
      { name: 'ingest CPU per vote', value: Math.round(tallyMax.serverUsPerRequest), unit: 'µs/request', meaning: `CPU of the ingest process tree per request in the measured phase (${(tallyMax.serverCpuSeconds / options.duration).toFixed(2)} cores)` },
      { name: 'latency p50 / p99', value: `${tallyMax.latency.p50Ms} / ${tallyMax.latency.p99Ms}`, unit: 'ms', meaning: 'request due → 202 received (acknowledged by Kafka)' },
    ];
    if (paced) {
      figures.push({ name: `p99 at ${Math.round(options.pacedFraction * 100)} % of the max rate`, value: paced.latency.p99Ms, unit: 'ms', meaning: `paced at ${paced.rate} votes/s (achieved ${Math.round(paced.perSecond)}); p50 ${paced.latency.p50Ms}, p99.9 ${paced.latency.p999Ms}, max ${paced.latency.maxMs} ms; latency counts from when each request was due` });
    }
    if (barePhase) {
      figures.push(
        { name: 'bare route requests/s', value: Math.round(barePhase.perSecond), unit: 'requests/s', meaning: 'the same generator and requests against a bare Fastify route (parse JSON, answer 202), same processes' },
        { name: 'bare route CPU per request', value: Math.round(barePhase.serverUsPerRequest), unit: 'µs/request', meaning: `the framework's floor on this machine (${(barePhase.serverCpuSeconds / options.duration).toFixed(2)} cores)` },
        { name: 'tally ÷ bare: CPU per request', value: Math.round((tallyMax.serverUsPerRequest / barePhase.serverUsPerRequest) * 100) / 100, unit: '×', meaning: `target ≤ ${TARGETS.cpuRatio}` },
        { name: 'tally ÷ bare: requests/s', value: Math.round((tallyMax.perSecond / barePhase.perSecond) * 100), unit: '%', meaning: `target ≥ ${Math.round(TARGETS.rateShare * 100)} %` },
      );
    }
    if (bareAtTallyRate) {
      figures.push(
        { name: 'bare route CPU per request at tally rate', value: Math.round(bareAtTallyRate.serverUsPerRequest), unit: 'µs/request', meaning: `the bare route paced at ${bareAtTallyRate.rate}/s (tally's closed-loop rate; achieved ${Math.round(bareAtTallyRate.perSecond)})` },
        { name: 'tally ÷ bare at the same rate: CPU per request', value: Math.round((tallyMax.serverUsPerRequest / bareAtTallyRate.serverUsPerRequest) * 100) / 100, unit: '×', meaning: 'information: the targets compare with the closed-loop bare route' },
      );
    }
    for (const phase of phases) {
      figures.push({
        name: `generator CPU (${phase.name})`,
        value: Math.round(phase.generatorUsPerRequest),
        unit: 'µs/request',
        meaning: `${phase.generatorCores.toFixed(2)} cores${phase.generatorCores > GENERATOR_CORES_WARNING ? ' — MORE THAN HALF A CORE: the generator may limit this phase' : ''}`,
      });
    }
    if (tokens.mintedDuringLoad > 0) {
      figures.push({ name: 'voter tokens minted during the load', value: tokens.mintedDuringLoad, unit: 'tokens', meaning: `the pool (--voters ${options.voters}) ran out; each mint cost the generator ≈ 4 µs` });
    }

    const checks: Check[] = [
      {
        name: 'every vote answered 202 is in Kafka exactly once',
        passed: missing === 0 && repeated === 0 && topic.unreadable === 0,
        detail: `${accepted.size} votes answered 202 (warm-up included); ${topic.records} records in ${config.kafka.votesTopic}; missing ${missing}, more than once ${repeated}, unreadable ${topic.unreadable}, records without a 202 ${unanswered}`,
      },
    ];
    const targets: string[][] = [];
    if (barePhase) {
      const cpuRatio = tallyMax.serverUsPerRequest / barePhase.serverUsPerRequest;
      const rateShare = tallyMax.perSecond / barePhase.perSecond;
      targets.push(['ingest CPU per vote ≤ 1.75 × bare', `${round1(tallyMax.serverUsPerRequest)} / ${round1(barePhase.serverUsPerRequest)} µs = ${cpuRatio.toFixed(2)} ×`, cpuRatio <= TARGETS.cpuRatio ? 'met' : 'missed']);
      targets.push(['accepted votes/s ≥ 55 % of bare', `${Math.round(tallyMax.perSecond)} / ${Math.round(barePhase.perSecond)} = ${Math.round(rateShare * 100)} %`, rateShare >= TARGETS.rateShare ? 'met' : 'missed']);
    }
    if (paced) targets.push([`p99 < 100 ms at ${Math.round(options.pacedFraction * 100)} % of the max rate`, `${paced.latency.p99Ms} ms at ${paced.rate}/s`, paced.latency.p99Ms < TARGETS.pacedP99Ms ? 'met' : 'missed']);

    const phaseRows = phases.map((p) => [
      p.name,
      `${p.rate > 0 ? `${p.rate}/s` : 'closed'}, ${p.connections} conns`,
      Math.round(p.perSecond),
      round1(p.serverUsPerRequest),
      round1(p.serverCpuSeconds / options.duration),
      round1(p.generatorUsPerRequest),
      round1(p.generatorCores * 100) / 100,
      p.latency.p99Ms,
      Object.values(p.load.errors).reduce((a, b) => a + b, 0),
      p.loadAverage.join(' / '),
    ]);
    const latencies: Record<string, LatencySummary> = {};
    const histograms: Record<string, Histogram> = {};
    for (const p of phases) {
      latencies[p.name] = p.latency;
      histograms[p.name] = p.load.latency;
    }
    const outcome = {
      figures,
      checks,
      sections: [
        ...(targets.length ? [{ title: 'Targets (issue 11)', markdown: markdownTable(['target', 'measured', 'result'], targets) }] : []),
        {
          title: 'Phases',
          markdown: markdownTable(['phase', 'pace', 'ok/s', 'server µs/req', 'server cores', 'generator µs/req', 'generator cores', 'p99 ms', 'errors', 'load average before'], phaseRows),
        },
        { title: 'Latency', markdown: latencyTable(latencies) },
        { title: 'Errors', markdown: errorsTable(phases) },
      ],
      plots: [
        latencyCdfPlot('latency-cdf', 'Request latency (CDF)', histograms),
        linePlot(
          'ok-per-second',
          'Successful answers per second',
          phases.flatMap((p) => p.load.perSecond.map((s) => ({ phase: p.name, second: s.second, ok: s.ok }))),
          { field: 'second', title: 'second of the measured phase' },
          { field: 'ok', title: 'answers/s (202)' },
          'phase',
        ),
        groupedBarPlot(
          'cpu-per-request',
          'CPU per request: server and generator',
          phases.flatMap((p) => [
            { phase: p.name, who: 'server', us: round1(p.serverUsPerRequest) },
            { phase: p.name, who: 'generator', us: round1(p.generatorUsPerRequest) },
          ]),
          { field: 'phase', title: 'phase' },
          { field: 'us', title: 'CPU µs per request' },
          'who',
        ),
      ],
      data: {
        surveys: surveys.map((s) => s.id),
        phases: phases.map((p) => ({
          name: p.name,
          rate: p.rate,
          perSecond: p.perSecond,
          serverCpuSeconds: p.serverCpuSeconds,
          serverUsPerRequest: p.serverUsPerRequest,
          generatorCpuSeconds: p.load.generatorCpuSeconds,
          generatorUsPerRequest: p.generatorUsPerRequest,
          ok: p.load.ok,
          okTotal: p.load.okTotal,
          sent: p.load.sent,
          errors: p.load.errors,
          maxBacklog: p.load.maxBacklog,
          latency: p.latency,
          latencyCdf: cdfPoints(p.load.latency),
          perSecondSeries: p.load.perSecond,
          loadAverage: p.loadAverage,
        })),
        topic: { records: topic.records, missing, repeated, unreadable: topic.unreadable, unanswered },
        accepted: accepted.size,
        voterTokens: tokens.size,
        mintedDuringLoad: tokens.mintedDuringLoad,
        ingestLog,
      },
    };
    const written = await writeReport(context, outcome);
    printOutcome(context, outcome, written);
    return written.passed ? 0 : 1;
  } finally {
    if (ingest) {
      if (!options.keep) await deleteSurveys(config, config.ports.ingest, surveys);
      context.progress(`ingest stopped: ${await ingest.stop()}`);
    }
    await bare?.stop();
    if (!options.keep) {
      await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] }).catch(() => undefined);
      await deleteClaimKeys(config.redisUrl, surveys.map((s) => s.id)).then(
        (deleted) => context.progress(`${deleted.toLocaleString('en-US')} one-vote claim keys of the run's surveys deleted from Redis`),
        (error: unknown) => context.progress(`could not delete the run's claim keys from Redis: ${(error as Error).message}`),
      );
    }
    await admin.disconnect().catch(() => undefined);
    runEnv.removeDataDir();
  }
}
