// One step of `fanout`: a server (tally's broadcaster sized for K clients, or a peer), K raw SSE
// clients (the lean C swarm or the Node one), a measured phase.
// Per snapshot: window close (generatedAt) → the last client received it; delivery completeness;
// connection set-up; broadcaster and client CPU and memory.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Swarm, SwarmResult, SwarmSnapshot } from '../sse/client-swarm.js';
import { makeSwarm, type SwarmKind } from '../sse/swarm-kind.js';
import type { FanoutServer } from './peer-server.js';
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
  swarm: SwarmKind;
}

export interface FanoutStepResult {
  /** tally, or the peer's name */
  server: string;
  clients: number;
  broadcasterProcesses: number;
  swarm: string;
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
  /** deliveries the CPU figures are divided by: events received while CPU was measured */
  deliveries: number;
  /** 'counted by the swarm' (lean: events received between the two CPU readings) or 'receivers of the measured snapshots' */
  deliveriesCountedAs: string;
  broadcasterCpuSeconds: number;
  broadcasterCpuPerThousandClientsPerMinute: number;
  /** server CPU per delivery, µs */
  broadcasterCpuPerDeliveryUs: number;
  /** server CPU-seconds per round (one snapshot to every connected client) */
  broadcasterCpuSecondsPerRound: number;
  broadcasterRssBaselineMiB: number;
  broadcasterRssConnectedMiB: number;
  broadcasterMiBPerThousandClients: number;
  clientCpuSeconds: number;
  /** swarm CPU per delivery, µs */
  clientCpuPerDeliveryUs: number;
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

/** Starts tally's broadcaster sized for `clients` (⌈clients / 16,000⌉ workers) and waits until every worker listens. */
export async function startTallyBroadcaster(context: RunContext, env: Record<string, string>, clients: number, windowMs: number, nodeArgs: string[] = []): Promise<FanoutServer & { role: RoleProcess }> {
  const port = await freePort();
  // info level: the broadcaster says "broadcast cluster listening" once every worker listens.
  const broadcasterEnv = { ...env, TALLY_LOG_LEVEL: 'info', TALLY_BROADCAST_PORT: String(port), TALLY_BROADCAST_TARGET_CLIENTS: String(clients), TALLY_WINDOW_MS: String(windowMs) };
  const role = await startRole({ role: 'broadcast', port, env: broadcasterEnv, logDir: context.dir, readyTimeoutMs: 120_000, nodeArgs });
  if (!(await waitForLogLine(role.logPath, /"msg":"broadcast (cluster )?listening"/, 120_000))) context.progress(`[${clients.toLocaleString('en-US')} clients] no "listening" line in the broadcaster log after 120 s: going on`);
  return {
    name: 'tally',
    port,
    role,
    get processes() {
      return role.usage().processes;
    },
    usage: () => role.usage(),
    stop: async () => String(await role.stop(30_000)),
  };
}

/** Tally's current snapshot JSON per survey (GET /v1/surveys/:id/results), the peers' template. */
export async function captureSnapshotJson(port: number, surveys: BenchSurvey[]): Promise<(string | undefined)[]> {
  return Promise.all(
    surveys.map(async (survey) => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v1/surveys/${survey.id}/results`, { signal: AbortSignal.timeout(5000) });
        const text = await response.text();
        return response.status === 200 && text.includes('"generatedAt":') ? text : undefined;
      } catch {
        return undefined;
      }
    }),
  );
}

/** One step on a started server: connect the swarm, measure, stop the swarm (the caller stops the server). */
export async function runFanoutStep(context: RunContext, server: FanoutServer, surveys: BenchSurvey[], options: FanoutStepOptions): Promise<FanoutStepResult> {
  const say = (message: string) => context.progress(`[${server.name}, ${options.clients.toLocaleString('en-US')} clients] ${message}`);
  const port = server.port;
  let swarm: Swarm | undefined;
  const checkers: SnapshotChecker[] = [];
  try {
    const baseline = server.usage();
    say(`server ready: ${baseline.processes} processes, ${Math.round(baseline.rssBytes / MiB)} MiB`);
    const paths = surveys.map((s) => `/v1/surveys/${s.id}/results/stream`);
    for (const survey of surveys) {
      for (let i = 0; i < options.checkersPerSurvey; i++) checkers.push(new SnapshotChecker(`http://127.0.0.1:${port}/v1/surveys/${survey.id}/results/stream`, survey.id));
    }
    swarm = makeSwarm(options.swarm, { port, paths, clients: options.clients, clientsPerProcess: options.clientsPerProcess, connectConcurrency: options.connectConcurrency, connectTimeoutMs: 60_000 });
    const connectStart = Date.now();
    swarm.start();
    const connectTimeout = Math.max(120_000, options.clients * 2);
    const connecting = await swarm.waitConnected(connectTimeout, () => {
      const p = swarm!.progress();
      say(`connecting: ${p.connected.toLocaleString('en-US')} open, ${p.failed} failed; free memory ${Math.round(os.freemem() / 2 ** 30)} GiB`);
    });
    const connectSeconds = (connecting.doneAt - connectStart) / 1000;
    const afterConnect = server.usage();
    const progress = swarm.progress();
    say(`${progress.connected.toLocaleString('en-US')} connected, ${progress.failed} failed in ${connectSeconds.toFixed(1)} s; server ${Math.round(afterConnect.rssBytes / MiB)} MiB`);

    await sleep(2000);
    const measureFrom = Date.now();
    swarm.measureFrom(measureFrom);
    const eventsStart = swarm.eventsNow ? await swarm.eventsNow() : undefined;
    const cpuStart = server.usage().cpuSeconds;
    const clientCpuStart = swarm.usage().cpuSeconds;
    for (let s = 0; s < options.durationSeconds; s += 5) {
      await sleep(Math.min(5, options.durationSeconds - s) * 1000);
      const p = swarm.progress();
      say(`measuring ${Math.min(options.durationSeconds, s + 5)}/${options.durationSeconds} s: ${p.events.toLocaleString('en-US')} events, ${p.closed} dropped`);
    }
    const measureEnd = Date.now();
    const eventsEnd = swarm.eventsNow ? await swarm.eventsNow() : undefined;
    const broadcasterCpu = server.usage().cpuSeconds - cpuStart;
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
    const counted = eventsStart !== undefined && eventsEnd !== undefined;
    const deliveries = counted ? eventsEnd - eventsStart : receivers;
    const perDeliveryUs = (cpu: number) => (deliveries > 0 ? (cpu / deliveries) * 1e6 : 0);
    const measuredMinutes = (measureEnd - measureFrom) / 60_000;
    const thousands = Math.max(1, result.connected) / 1000;
    return {
      server: server.name,
      clients: options.clients,
      broadcasterProcesses: afterConnect.processes,
      swarm: `${options.swarm === 'lean' ? 'lean (C, epoll)' : 'node (net.Socket)'}`,
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
      deliveries,
      deliveriesCountedAs: counted ? 'events the swarm received between the two CPU readings' : 'receivers of the measured snapshots',
      broadcasterCpuSeconds: broadcasterCpu,
      broadcasterCpuPerThousandClientsPerMinute: broadcasterCpu / thousands / measuredMinutes,
      broadcasterCpuPerDeliveryUs: perDeliveryUs(broadcasterCpu),
      broadcasterCpuSecondsPerRound: (perDeliveryUs(broadcasterCpu) * result.connected) / 1e6,
      broadcasterRssBaselineMiB: baseline.rssBytes / MiB,
      broadcasterRssConnectedMiB: afterConnect.rssBytes / MiB,
      broadcasterMiBPerThousandClients: (afterConnect.rssBytes - baseline.rssBytes) / MiB / thousands,
      clientCpuSeconds: clientCpu,
      clientCpuPerDeliveryUs: perDeliveryUs(clientCpu),
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
  }
}
