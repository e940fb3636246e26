// A swarm child: thousands of raw SSE clients in one process (≤ ~18,000 sockets under the open-file
// limit). Each client is a net.Socket bound to a 127.0.0.x source address, a pre-built GET request,
// and an SseFrameParser that reads only the event id and generatedAt. Per snapshot the child keeps
// how many of its clients got it and when the last one did; the parent merges the children.
import net from 'node:net';
import { createHistogram, encodeHistogram, recordMs } from '../lib/latency-histogram.js';
import { SseFrameParser, type SseEventSink } from './sse-frame-parser.js';
import type { ChildMessage, ParentMessage, SnapshotSighting, SwarmStart } from './swarm-messages.js';

const setupHistogram = createHistogram();
const deliveryHistogram = createHistogram();
/** per path: id hash → sighting */
let sightings: Map<number, SnapshotSighting>[] = [];
let measureFrom = Number.POSITIVE_INFINITY;
let connected = 0;
let failed = 0;
let closed = 0;
let events = 0;
const failures: Record<string, number> = {};
const clients: Client[] = [];

function send(message: ChildMessage): void {
  process.send?.(message);
}

function fail(reason: string): void {
  failed += 1;
  failures[reason] = (failures[reason] ?? 0) + 1;
}

class Client implements SseEventSink {
  readonly parser = new SseFrameParser(this);
  socket: net.Socket | undefined;
  open = false;
  private answered = false;
  private firstEvent = true;
  private startedAt = 0;

  constructor(
    readonly path: number,
    private readonly onAnswered: () => void,
  ) {}

  connect(start: SwarmStart, request: Buffer, localAddress: string): void {
    this.startedAt = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port: start.port, localAddress });
    this.socket = socket;
    socket.setTimeout(start.connectTimeoutMs);
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.parser.feed(chunk);
      } catch (error) {
        this.answer(`parse error: ${(error as Error).message}`);
        socket.destroy();
      }
    });
    socket.on('timeout', () => {
      if (!this.answered) {
        this.answer('connect timeout');
        socket.destroy();
      } else {
        socket.setTimeout(0);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.answered) this.answer(error.code ?? error.message);
    });
    socket.on('close', () => {
      if (!this.answered) this.answer('closed before answering');
      else if (this.open) {
        this.open = false;
        closed += 1;
      }
    });
  }

  private answer(failure?: string): void {
    if (this.answered) return;
    this.answered = true;
    if (failure === undefined) {
      this.open = true;
      connected += 1;
      this.socket!.setTimeout(0);
    } else {
      fail(failure);
    }
    this.onAnswered();
  }

  onHeaders(status: number): void {
    if (status === 200) return; // answered when the first event (the current snapshot) arrives
    this.answer(`HTTP ${status}`);
    this.socket?.destroy();
  }

  onEvent(idHash: number, generatedAt: number, parser: SseFrameParser): void {
    const now = Date.now();
    events += 1;
    if (this.firstEvent) {
      this.firstEvent = false;
      recordMs(setupHistogram, now - this.startedAt);
      this.answer();
    }
    if (!(generatedAt >= measureFrom)) return; // NaN, or the snapshot current at connect time
    const delay = now - generatedAt;
    const table = sightings[this.path]!;
    const seen = table.get(idHash);
    if (seen === undefined) {
      table.set(idHash, { path: this.path, id: parser.idText(), generatedAt, receivers: 1, firstAt: now, lastAt: now, maxDelayMs: delay });
    } else {
      seen.receivers += 1;
      if (now > seen.lastAt) seen.lastAt = now;
      if (now < seen.firstAt) seen.firstAt = now;
      if (delay > seen.maxDelayMs) seen.maxDelayMs = delay;
      if (generatedAt < seen.generatedAt) seen.generatedAt = generatedAt;
    }
    recordMs(deliveryHistogram, delay);
  }
}

function start(message: SwarmStart): void {
  sightings = message.paths.map(() => new Map());
  const requests = message.paths.map((path) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${message.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`, 'latin1'));
  const span = message.addressTo - message.addressFrom + 1;
  let next = 0;
  let pending = 0;
  let answered = 0;
  const openMore = () => {
    while (pending < message.connectConcurrency && next < message.clients) {
      const j = next++;
      const path = j % message.paths.length;
      const client = new Client(path, () => {
        pending -= 1;
        answered += 1;
        if (answered === message.clients) send({ type: 'connected', connected, failed, doneAt: Date.now() });
        else setImmediate(openMore);
      });
      clients.push(client);
      pending += 1;
      client.connect(message, requests[path]!, `127.0.0.${message.addressFrom + ((message.firstClient + j) % span)}`);
    }
  };
  openMore();
  const progress = setInterval(() => send({ type: 'progress', connected, failed, closed, events }), 1000);
  progress.unref();
}

function stopAndReport(): void {
  const openAtMeasureStart = openPerPathAtMeasure;
  for (const client of clients) client.socket?.destroy();
  const cpu = process.cpuUsage();
  send({
    type: 'report',
    connected,
    openAtMeasureStart,
    failures,
    closed,
    events,
    bodyBytes: clients.reduce((sum, c) => sum + c.parser.bodyBytes, 0),
    sightings: sightings.flatMap((table) => [...table.values()]),
    setupHistogram: encodeHistogram(setupHistogram),
    deliveryHistogram: encodeHistogram(deliveryHistogram),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssBytes: process.memoryUsage.rss(),
  });
  // Let the IPC message flush, then leave.
  setTimeout(() => process.exit(0), 200);
}

let openPerPathAtMeasure: number[] = [];

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      start(message);
      break;
    case 'measure': {
      measureFrom = message.fromEpochMs;
      openPerPathAtMeasure = sightings.map(() => 0);
      for (const client of clients) if (client.open) openPerPathAtMeasure[client.path]! += 1;
      break;
    }
    case 'stop':
      stopAndReport();
      break;
  }
});

// The parent going away ends the swarm: never leave sockets behind.
process.on('disconnect', () => process.exit(0));
