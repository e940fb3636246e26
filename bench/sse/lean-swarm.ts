// The lean client swarm: processes of the C program sse-swarm.c (built by the bench with gcc), each
// holding up to clientsPerProcess raw SSE sockets on one epoll, driven over stdin / stdout JSON
// lines with the Node swarm child's messages (swarm-messages.ts). Its reports are merged exactly
// like the Node swarm's (client-swarm.ts merge()), so every figure of `bench fanout` means the same
// with either swarm; the C one costs a few µs of CPU per delivery instead of ~12, so on a 2-core
// machine the figures measure the server rather than the clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cProgram } from '../lib/c-program.js';
import { createHistogram, encodeHistogram } from '../lib/latency-histogram.js';
import { processUsage } from '../lib/process-usage.js';
import { ADDRESS_FROM, ADDRESS_TO, merge, waitChildrenConnected, type Swarm, type SwarmOptions, type SwarmProgressTotals, type SwarmResult } from './client-swarm.js';
import type { SnapshotSighting, SwarmReport } from './swarm-messages.js';
import { setTimeout as sleep } from 'node:timers/promises';

export const LEAN_SWARM_SOURCE = 'bench/sse/sse-swarm.c';

let built: string | undefined;
/** Built once per bench process: every step of a run uses the same binary, even if the source is edited meanwhile. */
function leanSwarmBinary(): string {
  built ??= cProgram(LEAN_SWARM_SOURCE);
  return built;
}

interface LeanProgress {
  type: 'progress';
  connected: number;
  failed: number;
  closed: number;
  events: number;
  measuredEvents: number;
  at: number;
}

interface LeanReport {
  type: 'report';
  connected: number;
  openAtMeasureStart: number[];
  failures: Record<string, number>;
  closed: number;
  events: number;
  measuredEvents: number;
  bodyBytes: number;
  sightings: SnapshotSighting[];
  setupMs: [number, number][];
  deliveryMs: [number, number][];
  cpuSeconds: number;
  rssBytes: number;
}

type LeanLine = LeanProgress | { type: 'connected'; connected: number; failed: number; doneAt: number } | LeanReport;

interface Child {
  process: ChildProcess;
  progress: LeanProgress;
  connected?: { connected: number; failed: number; doneAt: number };
  report?: LeanReport;
  exited: boolean;
  waiters: ((p: LeanProgress) => void)[];
  stderr: string;
}

/** [ms, count] pairs → the compressed HDR histogram the Node swarm children send. */
function pairsToHistogram(pairs: [number, number][]): string {
  const histogram = createHistogram();
  for (const [ms, count] of pairs) histogram.recordValueWithCount(Math.max(1, ms * 1000), count);
  return encodeHistogram(histogram);
}

export function leanReportToSwarmReport(report: LeanReport): SwarmReport {
  return {
    type: 'report',
    connected: report.connected,
    openAtMeasureStart: report.openAtMeasureStart,
    failures: report.failures,
    closed: report.closed,
    events: report.events,
    bodyBytes: report.bodyBytes,
    sightings: report.sightings,
    setupHistogram: pairsToHistogram(report.setupMs),
    deliveryHistogram: pairsToHistogram(report.deliveryMs),
    cpuSeconds: report.cpuSeconds,
    rssBytes: report.rssBytes,
  };
}

export class LeanSwarm implements Swarm {
  readonly kind = 'lean (C, epoll)';
  private readonly children: Child[] = [];
  private readonly binary: string;

  constructor(private readonly options: SwarmOptions) {
    this.binary = leanSwarmBinary();
  }

  get processes(): number {
    return this.children.length;
  }

  pids(): number[] {
    return this.children.map((c) => c.process.pid!).filter(Boolean);
  }

  start(): void {
    const { clients, clientsPerProcess } = this.options;
    const count = Math.ceil(clients / clientsPerProcess);
    let first = 0;
    for (let i = 0; i < count; i++) {
      const share = Math.floor(clients / count) + (i < clients % count ? 1 : 0);
      const args = ['--port', String(this.options.port), '--clients', String(share), '--first', String(first), '--addr-from', String(ADDRESS_FROM), '--addr-to', String(ADDRESS_TO), '--concurrency', String(this.options.connectConcurrency), '--timeout-ms', String(this.options.connectTimeoutMs)];
      for (const path of this.options.paths) args.push('--path', path);
      const child: Child = {
        process: spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] }),
        progress: { type: 'progress', connected: 0, failed: 0, closed: 0, events: 0, measuredEvents: 0, at: 0 },
        exited: false,
        waiters: [],
        stderr: '',
      };
      createInterface({ input: child.process.stdout! }).on('line', (line) => {
        let message: LeanLine;
        try {
          message = JSON.parse(line) as LeanLine;
        } catch {
          return;
        }
        if (message.type === 'progress') {
          child.progress = message;
          for (const waiter of child.waiters.splice(0)) waiter(message);
        } else if (message.type === 'connected') child.connected = message;
        else if (message.type === 'report') child.report = message;
      });
      child.process.stderr!.on('data', (chunk: Buffer) => (child.stderr = (child.stderr + chunk.toString()).slice(-2000)));
      child.process.stdin!.on('error', () => undefined);
      child.process.on('exit', () => {
        child.exited = true;
        for (const waiter of child.waiters.splice(0)) waiter(child.progress);
      });
      first += share;
      this.children.push(child);
    }
  }

  private command(child: Child, line: string): void {
    if (!child.exited && child.process.stdin!.writable) child.process.stdin!.write(`${line}\n`);
  }

  progress(): SwarmProgressTotals {
    const total = { connected: 0, failed: 0, closed: 0, events: 0 };
    for (const child of this.children) {
      total.connected += Math.max(child.progress.connected, child.connected?.connected ?? 0);
      total.failed += Math.max(child.progress.failed, child.connected?.failed ?? 0);
      total.closed += child.progress.closed;
      total.events += child.progress.events;
    }
    return total;
  }

  /** Events (deliveries) received so far by every child, asked now rather than from the last tick. */
  async eventsNow(timeoutMs = 5000): Promise<number> {
    const answers = this.children.map(
      (child) =>
        new Promise<LeanProgress>((resolve) => {
          if (child.exited) return resolve(child.progress);
          child.waiters.push(resolve);
          this.command(child, 'progress');
        }),
    );
    const all = await Promise.race([Promise.all(answers), sleep(timeoutMs).then(() => undefined)]);
    return (all ?? this.children.map((c) => c.progress)).reduce((sum, p) => sum + p.events, 0);
  }

  waitConnected(timeoutMs: number, onProgress: () => void): Promise<{ allAnswered: boolean; doneAt: number }> {
    return waitChildrenConnected(this.children, timeoutMs, onProgress);
  }

  measureFrom(epochMs: number): void {
    for (const child of this.children) this.command(child, `measure ${epochMs}`);
  }

  usage(): { cpuSeconds: number; rssBytes: number } {
    let cpuSeconds = 0;
    let rssBytes = 0;
    for (const pid of this.pids()) {
      const u = processUsage(pid);
      cpuSeconds += u.cpuSeconds;
      rssBytes += u.rssBytes;
    }
    return { cpuSeconds, rssBytes };
  }

  /** Why children exited early (their stderr), for the report. */
  problems(): string[] {
    return this.children.filter((c) => c.stderr.trim() !== '').map((c) => c.stderr.trim());
  }

  async stop(timeoutMs = 30_000): Promise<SwarmResult> {
    for (const child of this.children) this.command(child, 'stop');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.children.every((c) => c.report || c.exited)) await sleep(50);
    // a child that wrote its report exits right after; wait for the exit, then make sure
    await sleep(100);
    for (const child of this.children) if (!child.exited) child.process.kill('SIGKILL');
    const reports = this.children.map((c) => c.report).filter((r): r is LeanReport => r !== undefined);
    return merge(reports.map(leanReportToSwarmReport), this.children.length, this.options.paths.length);
  }
}
