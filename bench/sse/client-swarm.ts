// The parent side of the SSE client swarm: forks the children (each ≤ clientsPerProcess sockets),
// spreads clients over surveys and source addresses 127.0.0.2..254, and merges their reports into
// per-snapshot figures: how many clients got each snapshot and when the last one did.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHistogram, decodeHistogram, type Histogram } from '../lib/latency-histogram.js';
import { processUsage } from '../lib/process-usage.js';
import type { ChildMessage, ParentMessage, SnapshotSighting, SwarmReport } from './swarm-messages.js';
import { setTimeout as sleep } from 'node:timers/promises';

const WORKER = fileURLToPath(new URL('./swarm-worker.js', import.meta.url));
export const ADDRESS_FROM = 2;
export const ADDRESS_TO = 254;

export interface SwarmOptions {
  port: number;
  paths: string[];
  clients: number;
  clientsPerProcess: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
}

export interface SwarmSnapshot {
  path: number;
  id: string;
  generatedAt: number;
  receivers: number;
  /** clients of this survey open when the measurement started */
  audience: number;
  firstAt: number;
  lastAt: number;
  /** window close → the last client received it (each copy measured from its own generatedAt) */
  maxDelayMs: number;
}

export interface SwarmResult {
  processes: number;
  connected: number;
  failures: Record<string, number>;
  closed: number;
  events: number;
  bodyBytes: number;
  snapshots: SwarmSnapshot[];
  setup: Histogram;
  delivery: Histogram;
  clientCpuSeconds: number;
  clientRssBytes: number;
}

export interface SwarmProgressTotals {
  connected: number;
  failed: number;
  closed: number;
  events: number;
}

/** What `bench fanout` needs of a swarm: the Node one (this file) or the lean C one (lean-swarm.ts). */
export interface Swarm {
  readonly kind: string;
  readonly processes: number;
  pids(): number[];
  start(): void;
  progress(): SwarmProgressTotals;
  waitConnected(timeoutMs: number, onProgress: () => void): Promise<{ allAnswered: boolean; doneAt: number }>;
  measureFrom(epochMs: number): void;
  usage(): { cpuSeconds: number; rssBytes: number };
  /** Deliveries received so far, fresh (not from the last progress tick); undefined if the swarm cannot say. */
  eventsNow?(timeoutMs?: number): Promise<number>;
  stop(timeoutMs?: number): Promise<SwarmResult>;
}

interface Child {
  process: ChildProcess;
  progress: { connected: number; failed: number; closed: number; events: number };
  connected?: { connected: number; failed: number; doneAt: number };
  report?: SwarmReport;
  exited: boolean;
}

export class ClientSwarm implements Swarm {
  readonly kind = 'node (net.Socket)';
  private readonly children: Child[] = [];

  constructor(private readonly options: SwarmOptions) {}

  get processes(): number {
    return this.children.length;
  }

  pids(): number[] {
    return this.children.map((c) => c.process.pid!).filter(Boolean);
  }

  /** Forks the children and starts connecting; resolves at once. */
  start(): void {
    const { clients, clientsPerProcess } = this.options;
    const count = Math.ceil(clients / clientsPerProcess);
    let first = 0;
    for (let i = 0; i < count; i++) {
      const share = Math.floor(clients / count) + (i < clients % count ? 1 : 0);
      const child: Child = { process: fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), progress: { connected: 0, failed: 0, closed: 0, events: 0 }, exited: false };
      child.process.on('message', (message: ChildMessage) => {
        if (message.type === 'progress') child.progress = message;
        else if (message.type === 'connected') child.connected = message;
        else if (message.type === 'report') child.report = message;
      });
      child.process.on('exit', () => (child.exited = true));
      this.send(child, {
        type: 'start',
        port: this.options.port,
        paths: this.options.paths,
        clients: share,
        firstClient: first,
        addressFrom: ADDRESS_FROM,
        addressTo: ADDRESS_TO,
        connectConcurrency: this.options.connectConcurrency,
        connectTimeoutMs: this.options.connectTimeoutMs,
      });
      first += share;
      this.children.push(child);
    }
  }

  private send(child: Child, message: ParentMessage): void {
    if (!child.exited && child.process.connected) child.process.send(message);
  }

  progress(): SwarmProgressTotals {
    const total = { connected: 0, failed: 0, closed: 0, events: 0 };
    for (const child of this.children) {
      const p = child.connected ? { ...child.progress, connected: Math.max(child.progress.connected, child.connected.connected), failed: Math.max(child.progress.failed, child.connected.failed) } : child.progress;
      total.connected += p.connected;
      total.failed += p.failed;
      total.closed += p.closed;
      total.events += p.events;
    }
    return total;
  }

  /** Waits until every child has every socket open or failed; returns when the last one was. */
  waitConnected(timeoutMs: number, onProgress: () => void): Promise<{ allAnswered: boolean; doneAt: number }> {
    return waitChildrenConnected(this.children, timeoutMs, onProgress);
  }

  measureFrom(epochMs: number): void {
    for (const child of this.children) this.send(child, { type: 'measure', fromEpochMs: epochMs });
  }

  /** CPU-seconds and RSS of the children right now (from /proc). */
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

  /** Stops every child and merges their reports. */
  async stop(timeoutMs = 30_000): Promise<SwarmResult> {
    for (const child of this.children) this.send(child, { type: 'stop' });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.children.every((c) => c.report || c.exited)) await sleep(50);
    for (const child of this.children) if (!child.exited) child.process.kill('SIGKILL');
    return merge(this.children.map((c) => c.report).filter((r): r is SwarmReport => r !== undefined), this.children.length, this.options.paths.length);
  }
}

/** A swarm child process as both swarms track it: its connect report once every socket is open or failed. */
export interface ConnectingChild {
  connected?: { doneAt: number };
  exited: boolean;
}

/** Waits until every child has every socket open or failed; returns when the last one was. */
export async function waitChildrenConnected(children: readonly ConnectingChild[], timeoutMs: number, onProgress: () => void): Promise<{ allAnswered: boolean; doneAt: number }> {
  const deadline = Date.now() + timeoutMs;
  let lastProgress = Date.now();
  while (Date.now() < deadline) {
    if (children.every((c) => c.connected || c.exited)) {
      return { allAnswered: children.every((c) => c.connected), doneAt: Math.max(...children.map((c) => c.connected?.doneAt ?? 0)) };
    }
    if (Date.now() - lastProgress >= 2000) {
      lastProgress = Date.now();
      onProgress();
    }
    await sleep(100);
  }
  return { allAnswered: false, doneAt: Date.now() };
}

export function merge(reports: SwarmReport[], processes: number, paths: number): SwarmResult {
  const setup = createHistogram();
  const delivery = createHistogram();
  const failures: Record<string, number> = {};
  const audience = new Array<number>(paths).fill(0);
  const byKey = new Map<string, SwarmSnapshot>();
  const result: SwarmResult = { processes, connected: 0, failures, closed: 0, events: 0, bodyBytes: 0, snapshots: [], setup, delivery, clientCpuSeconds: 0, clientRssBytes: 0 };
  for (const report of reports) {
    result.connected += report.connected;
    result.closed += report.closed;
    result.events += report.events;
    result.bodyBytes += report.bodyBytes;
    result.clientCpuSeconds += report.cpuSeconds;
    result.clientRssBytes += report.rssBytes;
    for (const [reason, n] of Object.entries(report.failures)) failures[reason] = (failures[reason] ?? 0) + n;
    report.openAtMeasureStart.forEach((n, path) => (audience[path]! += n));
    setup.add(decodeHistogram(report.setupHistogram));
    delivery.add(decodeHistogram(report.deliveryHistogram));
    for (const s of report.sightings) mergeSighting(byKey, s);
  }
  result.snapshots = [...byKey.values()].map((s) => ({ ...s, audience: audience[s.path] ?? 0 })).sort((a, b) => a.generatedAt - b.generatedAt || a.path - b.path);
  return result;
}

function mergeSighting(byKey: Map<string, SwarmSnapshot>, s: SnapshotSighting): void {
  const key = `${s.path}\0${s.id}`;
  const seen = byKey.get(key);
  if (!seen) {
    byKey.set(key, { ...s, audience: 0 });
    return;
  }
  seen.receivers += s.receivers;
  seen.firstAt = Math.min(seen.firstAt, s.firstAt);
  seen.lastAt = Math.max(seen.lastAt, s.lastAt);
  seen.maxDelayMs = Math.max(seen.maxDelayMs, s.maxDelayMs);
  // Cluster processes build their own snapshot of the same state: same id, their own window.
  seen.generatedAt = Math.min(seen.generatedAt, s.generatedAt);
}
