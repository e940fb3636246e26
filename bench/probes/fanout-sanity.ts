// Fan-out sanity measurement (a probe, not a bench scenario): one in-process broadcaster, one child
// process holding N raw-socket SSE clients spread over 127.0.0.x source addresses. For R rounds a
// partial is published; each round reports the time from the window close (snapshot.generatedAt)
// to the moment the LAST client received that snapshot, and the server's own fan-out time.
//
//   node dist/bench/probes/fanout-sanity.js [--clients 10000] [--rounds 5] [--transport socket|plugin]
// Runs under the machine lock (lib/probe-run.ts).
import { fork } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createPool } from '../../src/db/postgres.js';
import { startBroadcastServer } from '../../src/broadcast/broadcast-server.js';
import type { TransportKind } from '../../src/broadcast/subscriber-transport.js';
import { testConfig } from '../../test/support/test-config.js';
import { createSurvey, deleteSurvey, partial, publishPartial } from '../../test/broadcast/support/survey-fixtures.js';
import { startProbe } from '../lib/probe-run.js';

const PER_ADDRESS = 1000;
const CONNECT_CONCURRENCY = 200;

type SwarmMessage =
  | { type: 'connected'; clients: number; failed: number }
  | { type: 'round'; id: string; received: number; firstMs: number; lastMs: number; p50Ms: number; p99Ms: number };

async function swarm(port: number, path: string, clients: number): Promise<void> {
  // Per snapshot id: arrival times (ms, high resolution) and the window close it carries.
  const arrivals = new Map<string, number[]>();
  const generatedAt = new Map<string, number>();
  const now = () => performance.timeOrigin + performance.now();
  let failed = 0;
  const connectOne = (i: number) =>
    new Promise<void>((resolve) => {
      const localAddress = `127.0.0.${2 + Math.floor(i / PER_ADDRESS)}`;
      const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      });
      let first = true;
      socket.on('data', (chunk: Buffer) => {
        const at = now();
        // A frame starts with "id: <n>\n"; the first chunk also carries the response head.
        let index = chunk.indexOf('id: ');
        while (index >= 0) {
          const end = chunk.indexOf(10, index);
          const id = chunk.toString('latin1', index + 4, end);
          let list = arrivals.get(id);
          if (!list) {
            arrivals.set(id, (list = []));
            const g = chunk.indexOf('"generatedAt":', end);
            if (g >= 0) generatedAt.set(id, Number(chunk.toString('latin1', g + 14, chunk.indexOf('}', g))));
          }
          list.push(at);
          index = chunk.indexOf('\nid: ', end);
          if (index >= 0) index += 1;
        }
        if (first) {
          first = false;
          resolve();
        }
      });
      socket.on('error', () => {
        failed += 1;
        resolve();
      });
    });
  for (let i = 0; i < clients; i += CONNECT_CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, clients - i) }, (_, j) => connectOne(i + j)));
  }
  process.send!({ type: 'connected', clients, failed } satisfies SwarmMessage);
  process.on('message', (message: { type: 'report'; id: string }) => {
    const list = (arrivals.get(message.id) ?? []).sort((a, b) => a - b);
    const base = generatedAt.get(message.id) ?? NaN;
    const at = (q: number) => (list.length ? list[Math.min(list.length - 1, Math.floor(q * list.length))]! - base : NaN);
    process.send!({ type: 'round', id: message.id, received: list.length, firstMs: at(0), lastMs: list.length ? list[list.length - 1]! - base : NaN, p50Ms: at(0.5), p99Ms: at(0.99) } satisfies SwarmMessage);
    if (message.id === 'exit') process.exit(0);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' }, transport: { type: 'string', default: 'socket' } } });
  const clients = Number(values.clients);
  const rounds = Number(values.rounds);
  const transport = values.transport as TransportKind;
  const config = testConfig('fanout', { TALLY_LOG_LEVEL: 'warn', TALLY_SSE_MAX_PER_IP: String(PER_ADDRESS), TALLY_SSE_MAX_CONNECTIONS: String(clients + 10) });
  const pool = createPool(config.postgres.url, 1);
  const redis = new Redis(config.redisUrl);
  const survey = await createSurvey(pool, 'Fan-out sanity', [{ title: 'Pick one', options: ['A', 'B', 'C', 'D'] }]);
  const server = await startBroadcastServer(config, { transport });
  const rssBefore = process.memoryUsage().rss;
  const path = `/v1/surveys/${survey.id}/results/stream`;
  const child = fork(new URL(import.meta.url).pathname, ['--swarm', String(server.port), path, String(clients)], { stdio: 'inherit' });
  const next = () => new Promise<SwarmMessage>((resolve) => child.once('message', resolve));
  const connectedAt = Date.now();
  const cpuBefore = process.cpuUsage();
  const connected = await next();
  const cpu = process.cpuUsage(cpuBefore);
  const rssPerClient = (process.memoryUsage().rss - rssBefore) / clients;
  console.log(
    JSON.stringify({
      transport,
      ...connected,
      connectSeconds: (Date.now() - connectedAt) / 1000,
      serverCpuUsPerConnection: { user: Math.round(cpu.user / clients), system: Math.round(cpu.system / clients) },
      serverClients: server.hub.size,
      serverRssKbPerClient: Math.round(rssPerClient / 102.4) / 10,
    }),
  );
  const q = survey.questions[0]!;
  for (let round = 1; round <= rounds; round += 1) {
    const roundCpu = process.cpuUsage();
    await publishPartial(redis, partial(survey.id, 0, round, { responses: round, votes: { [q.id]: { [q.options[round % 4]!.id]: round } } }));
    await sleep(2 * config.broadcast.windowMs); // a measurement round: two windows, whatever arrives
    const cpu = process.cpuUsage(roundCpu);
    child.send({ type: 'report', id: String(round) });
    // Server CPU of the round (mostly the one fan-out) per client.
    console.log(JSON.stringify({ ...(await next()), serverCpuUsPerClient: { user: Math.round((cpu.user / clients) * 10) / 10, system: Math.round((cpu.system / clients) * 10) / 10 } }));
  }
  const metrics = await server.metrics.metrics();
  const fanout = metrics.split('\n').filter((line) => line.startsWith('tally_snapshot_fanout_duration_seconds_sum') || line.startsWith('tally_snapshot_fanout_duration_seconds_count'));
  console.log(fanout.join('\n'));
  child.kill();
  await server.close();
  await deleteSurvey(pool, redis, survey.id);
  await pool.end();
  redis.disconnect();
}

if (process.argv[2] === '--swarm') await swarm(Number(process.argv[3]), process.argv[4]!, Number(process.argv[5]));
else {
  await startProbe('fanout-sanity');
  await main();
}
