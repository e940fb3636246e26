// One step of `fanout`: a broadcaster sized for K clients, K raw SSE clients, a measured phase.
// Per snapshot: window close (generatedAt) → the last client received it; delivery completeness;
// connection set-up; broadcaster and client CPU and memory.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { TallyConfig } from '../../src/config.js';
import { ClientSwarm, type SwarmResult, type SwarmSnapshot } from '../sse/client-swarm.js';
import { SnapshotChecker, type CheckerReport } from '../sse/snapshot-checker.js';
import { createHistogram, recordMs, summarize, type Histogram, type LatencySummary } from '../lib/latency-histogram.js';
import { freePort, startRole, type RoleProcess } from '../lib/role-process.js';
import type { RunContext } from '../lib/run-context.js';
import type { BenchSurvey } from '../lib/survey-setup.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FanoutStepOptions {
  clients: number;
  durationSeconds: number;
  windowMs: number;
  clientsPerProcess: number;
  connectConcurrency: number;
  checkersPerSurvey: number;
  /** extra TALLY_* for the broadcaster */
  env: Record<string, string>;
}

export interface FanoutStepResult {
  clients: number;
  broadcasterProcesses: number;
  clientProcesses: number;
  connected: number;
  failures: Record<string, number>;
  droppedDuringRun: number;
  connectSeconds: number;
  setup: LatencySummary;
  /** per snapshot: window close → last client received it */
  lastClient: LatencySummary;
  /** every delivery: window close → that client received it */
  delivery: LatencySummary;
  snapshotsMeasured: number;
  completeness: number;
  minCompleteness: number;
  broadcasterCpuSeconds: number;
  broadcasterCpuPerThousandClientsPerMinute: number;
  broadcasterRssBaselineMiB: number;
  broadcasterRssConnectedMiB: number;
  broadcasterMiBPerThousandClients: number;
  clientCpuSeconds: number;
  clientRssMiB: number;
  checkers: CheckerReport[];
  snapshots: SwarmSnapshot[];
  histograms: { lastClient: Histogram; delivery: Histogram; setup: Histogram };
  stoppedBecause?: string;
}

const MiB = 2 ** 20;

async function waitForLogLine(path: string, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (pattern.test(readFileSync(path, 'utf8'))) return true;
    } catch {
      // not written yet
    }
    await sleep(200);
  }
  return false;
}

export async function runFanoutStep(context: RunContext, config: TallyConfig, env: Record<string, string>, surveys: BenchSurvey[], options: FanoutStepOptions): Promise<FanoutStepResult> {
  const say = (message: string) => context.progress(`[${options.clients.toLocaleString('en-US')} clients] ${message}`);
  const port = await freePort();
  // info level: the broadcaster says "broadcast cluster listening" once every worker listens.
  const broadcasterEnv = { ...env, TALLY_LOG_LEVEL: 'info', ...options.env, TALLY_BROADCAST_PORT: String(port), TALLY_BROADCAST_TARGET_CLIENTS: String(options.clients), TALLY_WINDOW_MS: String(options.windowMs) };
  let broadcaster: RoleProcess | undefined;
  let swarm: ClientSwarm | undefined;
  const checkers: SnapshotChecker[] = [];
  try {
    broadcaster = await startRole({ role: 'broadcast', port, env: broadcasterEnv, logDir: context.dir, readyTimeoutMs: 120_000 });
    if (!(await waitForLogLine(broadcaster.logPath, /"msg":"broadcast (cluster )?listening"/, 120_000))) say('no "listening" line in the broadcaster log after 120 s: going on');
    const baseline = broadcaster.usage();
    say(`broadcaster ready: ${baseline.processes} processes, ${Math.round(baseline.rssBytes / MiB)} MiB`);
    const paths = surveys.map((s) => `/v1/surveys/${s.id}/results/stream`);
    for (const survey of surveys) {
      for (let i = 0; i < options.checkersPerSurvey; i++) checkers.push(new SnapshotChecker(`http://127.0.0.1:${port}/v1/surveys/${survey.id}/results/stream`, survey.id));
    }
    swarm = new ClientSwarm({ port, paths, clients: options.clients, clientsPerProcess: options.clientsPerProcess, connectConcurrency: options.connectConcurrency, connectTimeoutMs: 60_000 });
    const connectStart = Date.now();
    swarm.start();
    const connectTimeout = Math.max(120_000, options.clients * 2);
    const connecting = await swarm.waitConnected(connectTimeout, () => {
      const p = swarm!.progress();
      say(`connecting: ${p.connected.toLocaleString('en-US')} open, ${p.failed} failed; free memory ${Math.round(os.freemem() / 2 ** 30)} GiB`);
    });
    const connectSeconds = (connecting.doneAt - connectStart) / 1000;
    const afterConnect = broadcaster.usage();
    const progress = swarm.progress();
    say(`${progress.connected.toLocaleString('en-US')} connected, ${progress.failed} failed in ${connectSeconds.toFixed(1)} s; broadcaster ${Math.round(afterConnect.rssBytes / MiB)} MiB`);

    await sleep(2000);
    const measureFrom = Date.now();
    swarm.measureFrom(measureFrom);
    const cpuStart = broadcaster.usage().cpuSeconds;
    const clientCpuStart = swarm.usage().cpuSeconds;
    for (let s = 0; s < options.durationSeconds; s += 5) {
      await sleep(Math.min(5, options.durationSeconds - s) * 1000);
      const p = swarm.progress();
      say(`measuring ${Math.min(options.durationSeconds, s + 5)}/${options.durationSeconds} s: ${p.events.toLocaleString('en-US')} events, ${p.closed} dropped`);
    }
    const measureEnd = Date.now();
    const broadcasterCpu = broadcaster.usage().cpuSeconds - cpuStart;
    const clientUsage = swarm.usage();
    const clientCpu = clientUsage.cpuSeconds - clientCpuStart;
    // Let the last windows of the measured phase reach everyone before stopping.
    await sleep(Math.max(3000, options.windowMs * 3));
    const result: SwarmResult = await swarm.stop();
    swarm = undefined;
    const checkerReports = checkers.map((c) => c.close());

    const measured = result.snapshots.filter((s) => s.generatedAt >= measureFrom && s.generatedAt <= measureEnd);
    const lastClient = createHistogram();
    let receivers = 0;
    let audience = 0;
    let minCompleteness = 1;
    for (const snapshot of measured) {
      recordMs(lastClient, snapshot.maxDelayMs);
      receivers += snapshot.receivers;
      audience += snapshot.audience;
      if (snapshot.audience > 0) minCompleteness = Math.min(minCompleteness, snapshot.receivers / snapshot.audience);
    }
    const measuredMinutes = (measureEnd - measureFrom) / 60_000;
    const thousands = Math.max(1, result.connected) / 1000;
    return {
      clients: options.clients,
      broadcasterProcesses: afterConnect.processes,
      clientProcesses: result.processes,
      connected: result.connected,
      failures: result.failures,
      droppedDuringRun: result.closed,
      connectSeconds,
      setup: summarize(result.setup),
      lastClient: summarize(lastClient),
      delivery: summarize(result.delivery),
      snapshotsMeasured: measured.length,
      completeness: audience > 0 ? receivers / audience : 0,
      minCompleteness: measured.length > 0 ? minCompleteness : 0,
      broadcasterCpuSeconds: broadcasterCpu,
      broadcasterCpuPerThousandClientsPerMinute: broadcasterCpu / thousands / measuredMinutes,
      broadcasterRssBaselineMiB: baseline.rssBytes / MiB,
      broadcasterRssConnectedMiB: afterConnect.rssBytes / MiB,
      broadcasterMiBPerThousandClients: (afterConnect.rssBytes - baseline.rssBytes) / MiB / thousands,
      clientCpuSeconds: clientCpu,
      clientRssMiB: clientUsage.rssBytes / MiB,
      checkers: checkerReports,
      snapshots: measured,
      histograms: { lastClient, delivery: result.delivery, setup: result.setup },
      stoppedBecause:
        result.connected < options.clients * 0.99
          ? `only ${result.connected} of ${options.clients} clients connected (${Object.entries(result.failures).map(([k, v]) => `${k}: ${v}`).join(', ') || 'timeout'})`
          : !connecting.allAnswered
            ? `connecting did not finish within ${connectTimeout / 1000} s`
            : undefined,
    };
  } finally {
    for (const checker of checkers) checker.close();
    if (swarm) await swarm.stop(5000).catch(() => undefined);
    if (broadcaster) say(`broadcaster stopped: ${await broadcaster.stop(30_000)}`);
  }
}
