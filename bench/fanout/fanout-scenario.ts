// `bench fanout`: for each client count (ascending), a broadcaster sized for it and that many raw
// SSE clients; partials are fed to Redis the way the aggregator writes them. Reports, per step,
// window close → last client (p50/p99/max over snapshots), completeness, set-up time, CPU and
// memory, and where the machine stopped and why.
import os from 'node:os';
import { summarize } from '../lib/latency-histogram.js';
import { latencyCdfPlot, linePlot, type Row } from '../lib/plots.js';
import { latencyTable, markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import { startRole, type RoleProcess } from '../lib/role-process.js';
import { createRunContext, printHeader } from '../lib/run-context.js';
import { createRunEnv } from '../lib/run-env.js';
import { createSurveys, deleteSurveys, type BenchSurvey } from '../lib/survey-setup.js';
import { BENCH_RATE_LIMITS } from '../ingest/ingest-scenario.js';
import { PartialFeeder } from './partial-feeder.js';
import { runFanoutStep, type FanoutStepResult } from './fanout-step.js';

export interface FanoutOptions {
  clients: number[];
  surveys: number;
  duration: number;
  windowMs: number;
  updateMs: number;
  partitions: number;
  clientsPerProcess: number;
  connectConcurrency: number;
  checkers: number;
  keep: boolean;
  results?: string;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function runFanout(options: FanoutOptions): Promise<number> {
  const context = createRunContext('fanout', { ...options }, options.results);
  printHeader(context);
  if (options.updateMs < 2 * options.windowMs) context.progress(`warning: --update-ms ${options.updateMs} < 2 × --window-ms: processes may send different snapshot ids, completeness will read low`);
  const runEnv = await createRunEnv({ runId: context.header.runId, extra: BENCH_RATE_LIMITS });
  const { config } = runEnv;
  let ingest: RoleProcess | undefined;
  let surveys: BenchSurvey[] = [];
  let feeder: PartialFeeder | undefined;
  const steps: FanoutStepResult[] = [];
  let stoppedBecause: string | undefined;
  try {
    ingest = await startRole({ role: 'ingest', port: config.ports.ingest, env: runEnv.env, logDir: context.dir });
    surveys = await createSurveys(config, config.ports.ingest, { count: options.surveys, questions: 3, options: 4, runId: context.header.runId });
    feeder = new PartialFeeder(config.redisUrl, surveys, options.partitions);
    await feeder.start(options.updateMs);
    context.progress(`${surveys.length} surveys (${surveys.map((s) => s.id).join(', ')}), partials fed every ${options.updateMs} ms`);
    for (const clients of [...options.clients].sort((a, b) => a - b)) {
      const freeGiB = os.freemem() / 2 ** 30;
      if (freeGiB < 2) {
        stoppedBecause = `${clients} clients not tried: only ${freeGiB.toFixed(1)} GiB of memory free`;
        break;
      }
      const step = await runFanoutStep(context, config, runEnv.env, surveys, {
        clients,
        durationSeconds: options.duration,
        windowMs: options.windowMs,
        clientsPerProcess: options.clientsPerProcess,
        connectConcurrency: options.connectConcurrency,
        checkersPerSurvey: options.checkers,
        env: {},
      });
      steps.push(step);
      context.progress(
        `[${clients.toLocaleString('en-US')} clients] window close → last client p50 ${step.lastClient.p50Ms} ms, p99 ${step.lastClient.p99Ms} ms, max ${step.lastClient.maxMs} ms; completeness ${(step.completeness * 100).toFixed(2)} %`,
      );
      if (step.stoppedBecause) {
        stoppedBecause = `at ${clients.toLocaleString('en-US')} clients: ${step.stoppedBecause}`;
        break;
      }
    }
  } finally {
    await feeder?.stop(!options.keep);
    if (ingest && !options.keep) await deleteSurveys(config, config.ports.ingest, surveys);
    if (ingest) context.progress(`ingest stopped: ${await ingest.stop()}`);
    runEnv.removeDataDir();
  }

  const largest = steps.reduce<FanoutStepResult | undefined>((best, s) => (!best || s.connected > best.connected ? s : best), undefined);
  const figures: Figure[] = [];
  for (const step of steps) {
    const label = `${step.clients.toLocaleString('en-US')} clients`;
    figures.push(
      { name: `${label}: window close → last client p50 / p99 / max`, value: `${step.lastClient.p50Ms} / ${step.lastClient.p99Ms} / ${step.lastClient.maxMs}`, unit: 'ms', meaning: `per snapshot, generatedAt → the last of the ${step.connected.toLocaleString('en-US')} clients received it (${step.snapshotsMeasured} snapshots; target p99 < 2,000 ms at 250,000)` },
      { name: `${label}: completeness`, value: `${(step.completeness * 100).toFixed(3)} % (min ${(step.minCompleteness * 100).toFixed(2)} %)`, meaning: 'deliveries ÷ (snapshots × clients open at the start of the measured phase)' },
      { name: `${label}: broadcaster CPU`, value: `${round(step.broadcasterCpuSeconds)} s (${round(step.broadcasterCpuPerThousandClientsPerMinute, 3)} s per 1,000 clients per minute)`, meaning: `CPU-seconds of the ${step.broadcasterProcesses} broadcaster processes during the ${options.duration} s measured phase` },
      { name: `${label}: broadcaster memory`, value: `${Math.round(step.broadcasterRssConnectedMiB)} MiB (${round(step.broadcasterMiBPerThousandClients)} MiB per 1,000 clients)`, meaning: 'RSS of the broadcaster process tree with every client connected (per 1,000: growth over the idle baseline)' },
      { name: `${label}: connection set-up p50 / p99`, value: `${step.setup.p50Ms} / ${step.setup.p99Ms} (all in ${round(step.connectSeconds)} s)`, unit: 'ms', meaning: 'connect() → first snapshot received, per client; in brackets: time to open them all' },
    );
  }
  if (largest) figures.push({ name: 'largest client count connected', value: largest.connected, unit: 'clients', meaning: stoppedBecause ? `stopped ${stoppedBecause}` : 'every requested step ran' });
  const checks: Check[] = steps.flatMap((step) => [
    {
      name: `${step.clients} clients: standard clients saw consistent snapshots`,
      passed: step.checkers.every((c) => c.problems.length === 0 && c.snapshots > 0),
      detail: step.checkers.map((c) => `survey ${c.surveyId}: ${c.snapshots} snapshots${c.problems.length ? `, problems: ${c.problems.join('; ')}` : ''}`).join(' · '),
    },
  ]);
  if (stoppedBecause) checks.push({ name: 'every requested client count ran', passed: false, detail: stoppedBecause });
  const stepTable = markdownTable(
    ['clients', 'broadcaster procs (incl. primary)', 'client procs', 'connected', 'failed', 'dropped', 'snapshots', 'last client p50 (ms)', 'p99', 'max', 'completeness', 'bcast CPU-s', 'bcast MiB', 'MiB / 1k', 'client CPU-s', 'client MiB'],
    steps.map((s) => [s.clients, s.broadcasterProcesses, s.clientProcesses, s.connected, Object.values(s.failures).reduce((a, b) => a + b, 0), s.droppedDuringRun, s.snapshotsMeasured, s.lastClient.p50Ms, s.lastClient.p99Ms, s.lastClient.maxMs, `${(s.completeness * 100).toFixed(3)} %`, round(s.broadcasterCpuSeconds), Math.round(s.broadcasterRssConnectedMiB), round(s.broadcasterMiBPerThousandClients), round(s.clientCpuSeconds), Math.round(s.clientRssMiB)]),
  );
  const perSnapshot: Row[] = steps.flatMap((s) => s.snapshots.map((snap) => ({ series: `${s.clients} clients`, seconds: (snap.generatedAt - (s.snapshots[0]?.generatedAt ?? 0)) / 1000, ms: snap.maxDelayMs })));
  const outcome = {
    figures,
    checks,
    sections: [
      { title: 'Steps', markdown: stepTable + (stoppedBecause ? `\n\nStopped ${stoppedBecause}.` : '') },
      { title: 'Window close → last client, per snapshot', markdown: latencyTable(Object.fromEntries(steps.map((s) => [`${s.clients} clients`, s.lastClient]))) },
      { title: 'Window close → each client, every delivery', markdown: latencyTable(Object.fromEntries(steps.map((s) => [`${s.clients} clients`, s.delivery]))) },
      { title: 'Connection set-up (connect → first snapshot)', markdown: latencyTable(Object.fromEntries(steps.map((s) => [`${s.clients} clients`, s.setup]))) },
      { title: 'Connection failures', markdown: steps.map((s) => `- ${s.clients}: ${Object.entries(s.failures).map(([k, v]) => `${k} × ${v}`).join(', ') || 'none'}`).join('\n') },
    ],
    plots: [
      latencyCdfPlot('last-client-cdf', 'Window close → last client (per snapshot)', Object.fromEntries(steps.map((s) => [`${s.clients} clients`, s.histograms.lastClient]))),
      latencyCdfPlot('delivery-cdf', 'Window close → client (every delivery)', Object.fromEntries(steps.map((s) => [`${s.clients} clients`, s.histograms.delivery]))),
      linePlot('last-client-over-time', 'Window close → last client, snapshot by snapshot', perSnapshot, { field: 'seconds', title: 'seconds into the measured phase' }, { field: 'ms', title: 'ms' }, 'series'),
    ],
    data: {
      surveys: surveys.map((s) => s.id),
      stoppedBecause,
      steps: steps.map(({ histograms, snapshots, ...rest }) => ({ ...rest, snapshots, deliveryAll: summarize(histograms.delivery) })),
    },
  };
  const written = await writeReport(context, outcome);
  printOutcome(context, outcome, written);
  return written.passed ? 0 : 1;
}
