// Integration: gcc (builds bench/sse/sse-swarm.c and bench/fanout/floor-server.c), nginx + nchan where a test names that peer
// (In the integration layer: it runs C programs and real loopback servers, so it runs under the machine
// lock rather than beside a bench; beside a 1M-record aggregate bench it exceeded the unit layer's 20 s.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cProgram } from '../../bench/lib/c-program.js';
import { collect } from '../../bench/lib/option-parsers.js';
import { LeanSwarm } from '../../bench/sse/lean-swarm.js';
import type { SwarmResult } from '../../bench/sse/client-swarm.js';
import { startPeer, type PeerName } from '../../bench/fanout/peer-server.js';
import { peerEvent } from '../../bench/fanout/peer-feed.js';
import { freePort } from '../support/free-port.js';

/** Waits (bounded) until the swarm has received `events` events in all. */
async function untilEvents(swarm: LeanSwarm, events: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await swarm.eventsNow()) >= events) return;
    await sleep(50);
  }
  assert.fail(`the swarm never reached ${events} events (has ${await swarm.eventsNow()})`);
}

async function connect(swarm: LeanSwarm): Promise<void> {
  swarm.start();
  const connected = await swarm.waitConnected(30_000, () => undefined);
  assert.equal(connected.allAnswered, true);
}

function byId(result: SwarmResult): Record<string, number> {
  return Object.fromEntries(result.snapshots.map((s) => [`${s.path}:${s.id}`, s.receivers]));
}

test('the lean swarm reads plain and chunked SSE split anywhere, LF and CRLF, and counts only measured snapshots', async () => {
  const port = await freePort();
  const sockets = new Map<net.Socket, string>();
  const server = net.createServer((socket) => {
    let request = '';
    socket.on('data', (chunk) => {
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n') || sockets.has(socket)) return;
      const path = request.split(' ')[1]!;
      if (path === '/refused') {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      sockets.set(socket, path);
      const chunked = path === '/chunked';
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}\r\n`);
      send(socket, 'retry: 2000\n\n:hello\n\nid: 0\nevent: snapshot\ndata: {"generatedAt":1000,"x":1}\n\n');
    });
    socket.on('error', () => undefined);
  });
  /** Writes `text` (chunked framing on /chunked) in 7-byte pieces, one per turn of the event loop. */
  const send = (socket: net.Socket, text: string) => {
    const bytes = sockets.get(socket) === '/chunked' ? Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`) : Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 7) {
      const piece = bytes.subarray(i, i + 7);
      setImmediate(() => socket.write(piece));
    }
  };
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const swarm = new LeanSwarm({ port, paths: ['/plain', '/chunked', '/refused'], clients: 9, clientsPerProcess: 5, connectConcurrency: 4, connectTimeoutMs: 10_000 });
  try {
    await connect(swarm);
    await untilEvents(swarm, 6);
    const now = Date.now();
    swarm.measureFrom(now - 1);
    for (const socket of sockets.keys()) {
      send(socket, `id: s-1\nevent: snapshot\ndata: {"surveyId":"1","generatedAt":${now},"pad":"${'y'.repeat(3000)}"}\n\n`);
      send(socket, `id: s-2\r\nevent: snapshot\r\ndata: {"generatedAt": ${now + 1}}\r\n\r\n:heartbeat\n\n`);
    }
    await untilEvents(swarm, 18);
    const result = await swarm.stop();
    assert.equal(result.processes, 2);
    assert.equal(result.connected, 6);
    assert.deepEqual(result.failures, { 'HTTP 503': 3 });
    assert.equal(result.events, 18);
    assert.deepEqual(byId(result), { '0:s-1': 3, '1:s-1': 3, '0:s-2': 3, '1:s-2': 3 });
    assert.deepEqual(result.snapshots.map((s) => s.generatedAt).sort(), [now, now, now + 1, now + 1]);
    assert.equal(result.delivery.totalCount, 12);
    assert.equal(result.setup.totalCount, 6);
  } finally {
    await swarm.stop(2000).catch(() => undefined);
    for (const socket of sockets.keys()) socket.destroy();
    server.close();
  }
});

const NCHAN_INSTALLED = existsSync('/usr/lib/nginx/modules/ngx_nchan_module.so');

for (const peer of ['floor', 'node-min', 'nchan'] as PeerName[]) {
  const skip = peer === 'nchan' && !NCHAN_INSTALLED ? 'nginx + nchan not installed (the bench installs them with apt-get)' : false;
  test(`the ${peer} peer sends the current event on connect and every published event to each client`, { skip }, async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(os.tmpdir(), 'tally-peer-test-'));
    const paths = ['/v1/surveys/1/results/stream', '/v1/surveys/2/results/stream'];
    const server = await startPeer(peer, { port, processes: 2, paths, logDir: dir });
    const swarm = new LeanSwarm({ port, paths, clients: 40, clientsPerProcess: 40, connectConcurrency: 10, connectTimeoutMs: 10_000 });
    const template = JSON.stringify({ survey: { id: '1' }, snapshotId: '0', generatedAt: 0, totalResponses: 3 });
    const publish = (id: string, at: number) => paths.forEach((_, i) => {
      const { json, event } = peerEvent(template, id, at);
      server.publish(i, String(i + 1), json, event);
    });
    try {
      publish('first', 1);
      await sleep(100); // stdin → server; the swarm's first event is this one
      await connect(swarm);
      await untilEvents(swarm, 40);
      const now = Date.now();
      swarm.measureFrom(now);
      publish('a', now);
      await untilEvents(swarm, 80);
      publish('b', now + 1);
      await untilEvents(swarm, 120);
      const result = await swarm.stop();
      assert.equal(result.connected, 40);
      if (peer === 'nchan') {
        // nchan gives messages ids of its own: two snapshots per path, each to all 20 clients
        assert.deepEqual(result.snapshots.map((s) => `${s.path}:${s.receivers}`).sort(), ['0:20', '0:20', '1:20', '1:20']);
      } else {
        assert.deepEqual(byId(result), { '0:a': 20, '1:a': 20, '0:b': 20, '1:b': 20 });
      }
      assert.ok(server.usage().processes >= 2);
    } finally {
      await swarm.stop(2000).catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a C program is built once per source text, and again when the source changes', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'tally-c-program-test-'));
  try {
    const source = join(dir, 'hello.c');
    writeFileSync(source, 'int main(void) { return 0; }\n');
    const first = cProgram(source, join(dir, 'cache'));
    assert.equal(cProgram(source, join(dir, 'cache')), first);
    writeFileSync(source, 'int main(void) { return 1; }\n');
    assert.notEqual(cProgram(source, join(dir, 'cache')), first);
    writeFileSync(source, 'int main(void) { return nope; }\n');
    assert.throws(() => cProgram(source, join(dir, 'cache')), /gcc could not build/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--peer collects known names once each and refuses others', () => {
  const parse = collect(['floor', 'node-min', 'nchan'] as const);
  assert.deepEqual(parse('nchan', parse('floor', [])), ['floor', 'nchan']);
  assert.deepEqual(parse('floor', ['floor']), ['floor']);
  assert.throws(() => parse('apache', []), /must be one of/);
});
