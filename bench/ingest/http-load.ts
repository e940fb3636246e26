// HTTP/1.1 load over raw keep-alive sockets: `connections` sockets, one request in flight on each,
// either closed-loop (a socket sends its next request as soon as its answer is in) or paced to a
// total `rate` (open loop: request i is due at start + i / rate, whether or not earlier answers
// came back; its latency counts from when it was due, so a stalled server cannot hide its backlog).
//
// The generator must cost far less than the servers it drives (bench/README.md "ingest"): no
// http.Agent, no header objects, no per-request closure; a request is one Buffer written to a
// socket and an answer is read as bytes (status line, content-length, body only if asked for).
import net from 'node:net';
import { createHistogram, recordMs, type Histogram } from '../lib/latency-histogram.js';

export interface HttpLoadOptions {
  port: number;
  connections: number;
  /** total requests/s; 0 = closed loop */
  rate: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** The complete HTTP/1.1 request number `i` (request line, headers, body). */
  request(i: number): Buffer;
  /**
   * Classifies an answer: `null` when it is the expected success, else the error label it is
   * counted under (e.g. "409 TALLY_ERR_DUPLICATE_VOTE"). `measured` says whether it counts.
   */
  classify(i: number, status: number, body: Buffer, measured: boolean): string | null;
  /** Called at the start and the end of the measured phase (to sample CPU counters there). */
  onMeasureStart?(): void;
  onMeasureEnd?(): void;
  /** One line per second of progress. */
  onSecond?(line: string): void;
}

export interface HttpLoadResult {
  /** successful answers in the measured phase */
  ok: number;
  /** successful answers including the warm-up */
  okTotal: number;
  /** requests sent, warm-up included */
  sent: number;
  /** label → count, measured phase only (transport errors by errno code) */
  errors: Record<string, number>;
  latency: Histogram;
  errorLatency: Histogram;
  measuredSeconds: number;
  /** per second of the measured phase */
  perSecond: { second: number; ok: number; errors: number }[];
  /** CPU of this (generator) process over the measured phase, seconds */
  generatorCpuSeconds: number;
  /** paced runs: the largest backlog of due requests waiting for a free socket */
  maxBacklog: number;
}

/** Gives up on an answer after this long (counted as "timeout"). */
const ANSWER_TIMEOUT_MS = 30_000;
const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = [Buffer.from('\r\ncontent-length:'), Buffer.from('\r\nContent-Length:')];

/** One keep-alive socket with at most one request in flight. */
class Connection {
  private socket: net.Socket | null = null;
  private pending: Buffer | null = null;
  /** request number in flight, -1 when idle */
  index = -1;
  dueAt = 0;
  measured = false;

  constructor(
    private readonly port: number,
    private readonly onAnswer: (connection: Connection, status: number, body: Buffer) => void,
    private readonly onFailure: (connection: Connection, code: string) => void,
  ) {}

  send(index: number, dueAt: number, measured: boolean, bytes: Buffer): void {
    this.index = index;
    this.dueAt = dueAt;
    this.measured = measured;
    if (this.socket === null) this.open();
    this.socket!.write(bytes);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): void {
    const socket = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true });
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('no answer'), { code: 'timeout' })));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(socket, error.code ?? error.message));
    socket.on('close', () => this.fail(socket, 'closed by server'));
    this.socket = socket;
  }

  private fail(socket: net.Socket, code: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.pending = null;
    socket.destroy();
    if (this.index >= 0) this.onFailure(this, code);
  }

  private receive(chunk: Buffer): void {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) {
      this.pending = data;
      return;
    }
    // "HTTP/1.1 202 Accepted": the status is bytes 9..11.
    const status = (data[9]! - 48) * 100 + (data[10]! - 48) * 10 + (data[11]! - 48);
    let length = 0;
    for (const name of CONTENT_LENGTH) {
      const at = data.indexOf(name);
      if (at >= 0 && at < headerEnd) {
        let i = at + name.length;
        while (data[i] === 32) i += 1;
        while (data[i]! >= 48 && data[i]! <= 57) length = length * 10 + (data[i++]! - 48);
        break;
      }
    }
    const bodyStart = headerEnd + 4;
    if (data.length < bodyStart + length) {
      this.pending = data;
      return;
    }
    this.pending = null; // one request in flight: nothing can follow the body
    this.onAnswer(this, status, data.subarray(bodyStart, bodyStart + length));
  }
}

export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const latency = createHistogram();
  const errorLatency = createHistogram();
  const errors: Record<string, number> = {};
  const perSecond: HttpLoadResult['perSecond'] = [];
  let ok = 0;
  let okTotal = 0;
  let sent = 0;
  let inFlight = 0;
  let secondOk = 0;
  let secondErrors = 0;
  let maxBacklog = 0;
  let stopping = false;
  let cpuAtStart: NodeJS.CpuUsage | null = null;
  let cpuUsed: NodeJS.CpuUsage | null = null;
  const paced = options.rate > 0;
  const start = performance.now();
  const measureFrom = start + options.warmupSeconds * 1000;
  const stopAt = measureFrom + options.durationSeconds * 1000;
  const idle: Connection[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const countError = (label: string, measured: boolean, ms: number | null) => {
    if (!measured) return;
    errors[label] = (errors[label] ?? 0) + 1;
    secondErrors += 1;
    if (ms !== null) recordMs(errorLatency, ms);
  };

  const release = (connection: Connection) => {
    connection.index = -1;
    inFlight -= 1;
    if (stopping) {
      if (inFlight === 0) finish();
      return;
    }
    if (paced) {
      idle.push(connection);
      dispatchDue();
    } else {
      sendNext(connection, performance.now());
    }
  };

  const onAnswer = (connection: Connection, status: number, body: Buffer) => {
    const now = performance.now();
    const ms = now - connection.dueAt;
    const label = options.classify(connection.index, status, body, connection.measured);
    if (label === null) {
      okTotal += 1;
      if (connection.measured) {
        ok += 1;
        secondOk += 1;
        recordMs(latency, ms);
      }
    } else {
      countError(label, connection.measured, ms);
    }
    release(connection);
  };

  const onFailure = (connection: Connection, code: string) => {
    countError(code, connection.measured, null);
    release(connection);
  };

  const sendNext = (connection: Connection, dueAt: number) => {
    if (dueAt >= stopAt) {
      connection.index = -1;
      if (!paced) idle.push(connection);
      if (inFlight === 0) finish();
      return;
    }
    const index = sent++;
    inFlight += 1;
    connection.send(index, dueAt, dueAt >= measureFrom, options.request(index));
  };

  // Paced: request i is due at start + i / rate; due requests go out on idle sockets.
  const intervalMs = paced ? 1000 / options.rate : 0;
  let dueCount = 0;
  const dispatchDue = () => {
    const now = Math.min(performance.now(), stopAt);
    const due = Math.floor((now - start) / intervalMs) + 1;
    if (due > dueCount) dueCount = due;
    while (sent < dueCount && idle.length > 0) {
      const dueAt = start + sent * intervalMs;
      if (dueAt >= stopAt) break;
      sendNext(idle.pop()!, dueAt);
    }
    const backlog = dueCount - sent;
    if (backlog > maxBacklog) maxBacklog = backlog;
  };

  const connections = Array.from({ length: options.connections }, () => new Connection(options.port, onAnswer, onFailure));
  const ticker = setInterval(() => {
    const now = performance.now();
    if (cpuAtStart === null && now >= measureFrom) {
      cpuAtStart = process.cpuUsage();
      options.onMeasureStart?.();
    }
    const second = Math.round((now - measureFrom) / 1000);
    if (second > 0 && second <= options.durationSeconds) perSecond.push({ second, ok: secondOk, errors: secondErrors });
    options.onSecond?.(`${second <= 0 ? 'warm-up' : `${Math.min(second, options.durationSeconds)}/${options.durationSeconds} s`}: ${secondOk} ok/s, ${secondErrors} errors/s${paced ? `, backlog ${dueCount - sent}` : ''}`);
    secondOk = 0;
    secondErrors = 0;
  }, 1000);
  // Exact phase boundaries for the CPU samples (the 1 s ticker only does the per-second lines).
  const measureStartTimer = setTimeout(() => {
    if (cpuAtStart === null) {
      cpuAtStart = process.cpuUsage();
      options.onMeasureStart?.();
    }
  }, Math.max(0, measureFrom - performance.now()));
  const measureEndTimer = setTimeout(() => {
    stopping = true;
    cpuUsed = process.cpuUsage(cpuAtStart ?? undefined);
    options.onMeasureEnd?.();
    if (inFlight === 0) finish();
  }, Math.max(0, stopAt - performance.now()));

  let pacer: NodeJS.Timeout | null = null;
  if (paced) {
    idle.push(...connections);
    pacer = setInterval(dispatchDue, 1);
    dispatchDue();
  } else {
    for (const connection of connections) sendNext(connection, performance.now());
  }
  // Requests sent before the end still get their answers (and latencies) in.
  await finished;
  if (pacer !== null) clearInterval(pacer);
  clearInterval(ticker);
  clearTimeout(measureStartTimer);
  clearTimeout(measureEndTimer);
  for (const connection of connections) connection.close();
  const used: NodeJS.CpuUsage = cpuUsed ?? process.cpuUsage(cpuAtStart ?? undefined);
  return {
    ok,
    okTotal,
    sent,
    errors,
    latency,
    errorLatency,
    measuredSeconds: options.durationSeconds,
    perSecond,
    generatorCpuSeconds: (used.user + used.system) / 1e6,
    maxBacklog,
  };
}
