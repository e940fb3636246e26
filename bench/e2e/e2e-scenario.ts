// `bench e2e`: votes over HTTP at a rate while K clients listen. ingest → Kafka → aggregate →
// Redis → broadcast → SSE, all real roles. For every accepted vote (202 with its partition and
// offset): when did a standard client first get a snapshot containing it, and when did the last of
// the K raw clients get that snapshot.
import type { Admin } from 'kafkajs';
import { createKafka, ensureTopics } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import type { Swarm } from '../sse/client-swarm.js';
import { defaultClientsPerProcess, makeSwarm, type SwarmKind } from '../sse/swarm-kind.js';
import { SnapshotChecker } from '../sse/snapshot-checker.js';
import { createHistogram, recordMs, summarize } from '../lib/latency-histogram.js';
import { latencyCdfPlot } from '../lib/plots.js';
import { latencyTable, markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import { startRole, type RoleProcess } from '../lib/role-process.js';
import { createRunContext, printHeader } from '../lib/run-context.js';
import { createRunEnv } from '../lib/run-env.js';
import { createSurveys, deleteSurveys, type BenchSurvey } from '../lib/survey-setup.js';
import { BENCH_RATE_LIMITS } from '../ingest/ingest-scenario.js';
import { runVoteLoad } from '../ingest/vote-load.js';
import { firstSnapshotContaining, type ObservedSnapshot, type VoteRecord } from './visibility.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface E2eOptions {
  clients: number;
  rate: number;
  concurrency: number;
  duration: number;
  surveys: number;
  windowMs: number;
  partitions: number;
  /** default: 16,000 for the lean swarm, 15,000 for the Node one */
  clientsPerProcess?: number;
  swarm: SwarmKind;
  connectConcurrency: number;
  graceSeconds: number;
  keep: boolean;
  results?: string;
}

export async function runE2e(options: E2eOptions): Promise<number> {
  const context = createRunContext('e2e', { ...options }, options.results);
  printHeader(context);
  const runEnv = await createRunEnv({
    runId: context.header.runId,
    partitions: options.partitions,
    extra: { ...BENCH_RATE_LIMITS, TALLY_WINDOW_MS: String(options.windowMs), TALLY_BROADCAST_TARGET_CLIENTS: String(Math.max(1, options.clients)) },
  });
  const { config } = runEnv;
  const kafka = createKafka(config, 'bench-e2e', createLogger('bench', { logLevel: 'warn' }));
  const admin: Admin = kafka.admin();
  const roles: RoleProcess[] = [];
  let surveys: BenchSurvey[] = [];
  let swarm: Swarm | undefined;
  let swarmCpu: { start: number; end: number } | undefined;
  const checkers: SnapshotChecker[] = [];
  try {
    await admin.connect();
    await ensureTopics(admin, config);
    roles.push(await startRole({ role: 'aggregate', port: config.ports.aggregate, env: runEnv.env, logDir: context.dir }));
    roles.push(await startRole({ role: 'ingest', port: config.ports.ingest, env: runEnv.env, logDir: context.dir }));
    roles.push(await startRole({ role: 'broadcast', port: config.ports.broadcast, env: { ...runEnv.env, TALLY_LOG_LEVEL: 'info' }, logDir: context.dir, readyTimeoutMs: 120_000 }));
    context.progress(`roles ready: ${roles.map((r) => `${r.role} (pid ${r.pid})`).join(', ')}`);
    surveys = await createSurveys(config, config.ports.ingest, { count: options.surveys, questions: 2, options: 4, runId: context.header.runId });

    // Observers: standard clients that record every snapshot (watermark, received time).
    const observed = new Map<string, ObservedSnapshot[]>(surveys.map((s) => [s.id, []]));
    for (const survey of surveys) {
      checkers.push(
        new SnapshotChecker(`http://127.0.0.1:${config.ports.broadcast}/v1/surveys/${survey.id}/results/stream`, survey.id, (snapshot, event) =>
          observed.get(survey.id)!.push({ snapshotId: snapshot.snapshotId, generatedAt: snapshot.generatedAt, receivedAt: event.receivedAt, watermark: snapshot.watermark }),
        ),
      );
    }
    const paths = surveys.map((s) => `/v1/surveys/${s.id}/results/stream`);
    if (options.clients > 0) {
      swarm = makeSwarm(options.swarm, { port: config.ports.broadcast, paths, clients: options.clients, clientsPerProcess: options.clientsPerProcess ?? defaultClientsPerProcess(options.swarm), connectConcurrency: options.connectConcurrency, connectTimeoutMs: 60_000 });
      swarm.start();
      const connecting = await swarm.waitConnected(Math.max(120_000, options.clients * 2), () => context.progress(`connecting: ${swarm!.progress().connected.toLocaleString('en-US')} open`));
      context.progress(`${swarm.progress().connected.toLocaleString('en-US')} clients connected${connecting.allAnswered ? '' : ' (not all answered)'}`);
    }
    await sleep(1000);
    const measureFrom = Date.now();
    swarm?.measureFrom(measureFrom);
    if (swarm) swarmCpu = { start: swarm.usage().cpuSeconds, end: 0 };

    const votes: VoteRecord[] = [];
    let printed = 0;
    const load = await runVoteLoad(
      config,
      { port: config.ports.ingest, surveys, zipf: 1, concurrency: options.concurrency, rate: options.rate, warmupSeconds: 0, durationSeconds: options.duration, runId: context.header.runId, seed: 3, regions: ['EU', 'NA'] },
      (vote) => votes.push(vote),
      (line) => {
        if (printed++ % 5 === 4) context.progress(line);
      },
    );
    context.progress(`${votes.length} votes accepted; waiting ${options.graceSeconds} s for the last ones to show`);
    await sleep(options.graceSeconds * 1000);
    if (swarm && swarmCpu) swarmCpu.end = swarm.usage().cpuSeconds;
    const swarmResult = swarm ? await swarm.stop() : undefined;
    swarm = undefined;
    const checkerReports = checkers.map((c) => c.close());

    // Per vote: first observer snapshot containing it; the swarm's last receipt of that snapshot.
    const toObserver = createHistogram();
    const toLastClient = createHistogram();
    const sightings = new Map((swarmResult?.snapshots ?? []).map((s) => [`${s.path}\0${s.id}`, s]));
    let invisible = 0;
    let notInSwarm = 0;
    for (const vote of votes) {
      const snapshots = observed.get(vote.surveyId)!;
      const i = firstSnapshotContaining(snapshots, vote.partition, vote.offset);
      if (i < 0) {
        invisible += 1;
        continue;
      }
      const snapshot = snapshots[i]!;
      recordMs(toObserver, snapshot.receivedAt - vote.acceptedAt);
      if (swarmResult) {
        const sighting = sightings.get(`${paths.indexOf(`/v1/surveys/${vote.surveyId}/results/stream`)}\0${snapshot.snapshotId}`);
        if (sighting) recordMs(toLastClient, sighting.generatedAt + sighting.maxDelayMs - vote.acceptedAt);
        else notInSwarm += 1;
      }
    }
    const observer = summarize(toObserver);
    const lastClient = summarize(toLastClient);
    const errorsTotal = Object.values(load.errors).reduce((a, b) => a + b, 0);
    const figures: Figure[] = [
      { name: 'vote accepted → visible (standard client) p50 / p99 / max', value: `${observer.p50Ms} / ${observer.p99Ms} / ${observer.maxMs}`, unit: 'ms', meaning: '202 received → a full EventSource-style client got the first snapshot whose watermark covers the vote (target p99 < 1,000 ms at 50,000 clients)' },
      ...(swarmResult
        ? [{ name: `vote accepted → visible on the last of ${swarmResult.connected.toLocaleString('en-US')} clients p50 / p99 / max`, value: `${lastClient.p50Ms} / ${lastClient.p99Ms} / ${lastClient.maxMs}`, unit: 'ms', meaning: '202 received → the last raw client got that snapshot' }]
        : []),
      { name: 'votes accepted', value: votes.length, unit: 'votes', meaning: `at ${Math.round(votes.length / load.measuredSeconds)} votes/s (target --rate ${options.rate}); ${errorsTotal} errors` },
      { name: 'clients', value: swarmResult?.connected ?? 0, unit: 'clients', meaning: `raw SSE clients connected (${options.clients} asked), plus ${checkers.length} standard clients` },
    ];
    const checks: Check[] = [
      { name: 'every accepted vote became visible', passed: invisible === 0 && votes.length > 0, detail: `${votes.length - invisible} of ${votes.length} votes seen in a snapshot within ${options.graceSeconds} s after the load ended` },
      { name: 'standard clients saw consistent snapshots', passed: checkerReports.every((c) => c.problems.length === 0), detail: checkerReports.map((c) => `survey ${c.surveyId}: ${c.snapshots} snapshots${c.problems.length ? `; ${c.problems.join('; ')}` : ''}`).join(' · ') },
      ...(swarmResult ? [{ name: 'the swarm got the snapshots the standard clients got', passed: notInSwarm === 0, detail: `${notInSwarm} votes whose first snapshot no raw client reported` }] : []),
    ];
    const outcome = {
      figures,
      checks,
      sections: [
        { title: 'Vote accepted → visible', markdown: latencyTable({ 'standard client (first snapshot containing the vote)': observer, ...(swarmResult ? { 'last raw client (same snapshot)': lastClient } : {}) }) },
        { title: 'Vote requests', markdown: latencyTable({ 'POST /votes → 202': summarize(load.latency) }) + (errorsTotal ? `\n\n${markdownTable(['error', 'count'], Object.entries(load.errors))}` : '') },
        ...(swarmResult ? [{ title: 'Swarm', markdown: `${options.swarm} swarm: ${swarmResult.connected} connected in ${swarmResult.processes} processes; swarm CPU ${swarmCpuPerDeliveryUs(swarmCpu, swarmResult.delivery.totalCount)} µs per delivery; failures ${JSON.stringify(swarmResult.failures)}; ${swarmResult.closed} dropped; window close → each client: ${JSON.stringify(summarize(swarmResult.delivery))}` }] : []),
      ],
      plots: [latencyCdfPlot('visibility-cdf', 'Vote accepted → visible (CDF)', { 'standard client': toObserver, ...(swarmResult ? { 'last raw client': toLastClient } : {}) })],
      data: { surveys: surveys.map((s) => s.id), observer, lastClient, invisible, notInSwarm, request: summarize(load.latency), errors: load.errors, snapshotsObserved: Object.fromEntries([...observed].map(([k, v]) => [k, v.length])) },
    };
    const written = await writeReport(context, outcome);
    printOutcome(context, outcome, written);
    return written.passed ? 0 : 1;
  } finally {
    for (const checker of checkers) checker.close();
    if (swarm) await swarm.stop(5000).catch(() => undefined);
    const ingest = roles.find((r) => r.role === 'ingest');
    if (ingest && !options.keep) await deleteSurveys(config, config.ports.ingest, surveys);
    for (const role of [...roles].reverse()) context.progress(`${role.role} stopped: ${await role.stop()}`);
    if (!options.keep) await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] }).catch(() => undefined);
    if (!options.keep) await admin.deleteGroups([config.kafka.consumerGroup]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    runEnv.removeDataDir();
  }
}

/** The swarm's CPU from the start of the votes to the end of the grace period ÷ the deliveries it measured. */
function swarmCpuPerDeliveryUs(cpu: { start: number; end: number } | undefined, deliveries: number): string {
  if (!cpu || deliveries === 0) return '-';
  return (((cpu.end - cpu.start) / deliveries) * 1e6).toFixed(2);
}
