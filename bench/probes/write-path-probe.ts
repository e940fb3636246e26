// Write-path probe (a probe, not a bench scenario): what one delivery costs the server's process
// on each write path, measured PAIRED — the paths take turns within every round on sockets of the
// same kind, so other work on the machine weighs on all of them alike (the fan-out bench runs
// tally and its peers one after the other, and on a shared 2-core box its run-to-run noise was
// larger than the difference looked for).
//
//   node dist/bench/probes/write-path-probe.js [--clients 12000] [--rounds 20] [--bytes 1300]
//
// Groups, each `clients / 4` connections from one child process that only reads:
//   batch    HTTP-server sockets, one SocketBatch per round (socket-batch-write.ts, the C addon)
//   direct   HTTP-server sockets (hijacked, as tally's), DirectSocketWriter (socket-direct-write.ts)
//   socket   HTTP-server sockets, socket.write()
//   net      sockets of a bare net.Server, socket.write() (what `bench fanout --peer node-min` does)
// Per round and group: process CPU (user + system, process.cpuUsage) from the first write until
// the after-write callbacks ran, ÷ sockets. Prints the median µs per delivery per group.
// Runs under the machine lock (lib/probe-run.ts).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BatchSocketWriter, SocketBatch } from '../../src/broadcast/socket-batch-write.js';
import { DirectSocketWriter } from '../../src/broadcast/socket-direct-write.js';
import { startProbe } from '../lib/probe-run.js';

const PER_ADDRESS = 1000;
const HEAD = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n', 'latin1');

interface Group {
  name: string;
  /** One delivery each (the batch group: the batch, then nothing: its call writes them all). */
  write: (() => void)[];
}

/** The batch group's round: what Hub.broadcast does per member, then one flush. */
function batchRound(writers: BatchSocketWriter[], frame: Buffer): () => void {
  const batch = new SocketBatch<BatchSocketWriter>();
  return () => {
    for (const writer of writers) {
      const fd = writer.batchFd;
      if (fd >= 0) batch.add(fd, writer);
      else writer.write(frame);
    }
    batch.flush(frame);
  };
}

/** The child: `count` connections to `port`, from 127.0.0.x source addresses, reading everything. */
async function readers(port: number, count: number, firstAddress: number): Promise<void> {
  let open = 0;
  const connectOne = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${firstAddress + Math.floor(i / PER_ADDRESS)}` }, () => {
        socket.write('GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        open += 1;
        resolve();
      });
      socket.on('data', () => undefined);
      socket.on('error', () => resolve());
    });
  for (let i = 0; i < count; i += 200) await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, k) => connectOne(i + k)));
  process.send!({ open });
}

async function childReaders(port: number, count: number, firstAddress: number): Promise<void> {
  const child = fork(process.argv[1]!, ['--reader', String(port), String(count), String(firstAddress)]);
  const [message] = (await once(child, 'message')) as [{ open: number }];
  if (message.open !== count) throw new Error(`only ${message.open} of ${count} connections opened`);
}

async function httpSockets(count: number, firstAddress: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const server = http.createServer((request) => {
    request.socket.write(HEAD);
    sockets.push(request.socket);
  });
  server.listen(0, '127.0.0.1', 4096);
  await once(server, 'listening');
  await childReaders((server.address() as net.AddressInfo).port, count, firstAddress);
  while (sockets.length < count) await sleep(10);
  return sockets;
}

async function netSockets(count: number, firstAddress: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      socket.write(HEAD);
      sockets.push(socket);
    });
  });
  server.listen(0, '127.0.0.1', 4096);
  await once(server, 'listening');
  await childReaders((server.address() as net.AddressInfo).port, count, firstAddress);
  while (sockets.length < count) await sleep(10);
  return sockets;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '12000' }, rounds: { type: 'string', default: '20' }, bytes: { type: 'string', default: '1300' } } });
  await startProbe('write-path-probe');
  const perGroup = Math.floor(Number(values.clients) / 4);
  const frame = Buffer.alloc(Number(values.bytes), 'x');
  const addresses = Math.ceil(perGroup / PER_ADDRESS);
  const direct = (await httpSockets(perGroup, 2)).map((socket) => new DirectSocketWriter(socket));
  const viaWrite = await httpSockets(perGroup, 2 + addresses);
  const bare = await netSockets(perGroup, 2 + 2 * addresses);
  const batched = (await httpSockets(perGroup, 2 + 3 * addresses)).map((socket) => new BatchSocketWriter(socket));
  const groups: Group[] = [
    { name: 'batch (HTTP sockets, SocketBatch)', write: [batchRound(batched, frame), ...batched.slice(1).map(() => () => undefined)] },
    { name: 'direct (HTTP sockets, DirectSocketWriter)', write: direct.map((writer) => () => writer.write(frame)) },
    { name: 'socket (HTTP sockets, socket.write)', write: viaWrite.map((socket) => () => socket.write(frame)) },
    { name: 'net (bare net.Server sockets, socket.write)', write: bare.map((socket) => () => socket.write(frame)) },
  ];
  const samples = new Map<string, number[]>(groups.map((group) => [group.name, []]));
  process.stderr.write(`[write-path-probe] ${perGroup} connections per group, ${values.rounds} rounds, ${frame.length}-byte frames\n`);
  for (let round = 0; round < Number(values.rounds); round += 1) {
    // Rotate the order each round so no group always runs right after another.
    const order = groups.map((_, i) => groups[(i + round) % groups.length]!);
    for (const group of order) {
      await sleep(100); // the readers drain the previous group's bytes
      const before = process.cpuUsage();
      for (const write of group.write) write();
      await new Promise((resolve) => setImmediate(resolve)); // after-write ticks and callbacks
      const used = process.cpuUsage(before);
      samples.get(group.name)!.push((used.user + used.system) / group.write.length);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const reference = median(samples.get(groups[3]!.name)!);
  for (const [name, values] of samples) {
    const m = median(values);
    process.stdout.write(`${name.padEnd(46)} median ${m.toFixed(2)} µs per delivery (÷ net ${(m / reference).toFixed(2)}); min ${Math.min(...values).toFixed(2)}, max ${Math.max(...values).toFixed(2)}\n`);
  }
  process.exit(0);
}

if (process.argv[2] === '--reader') void readers(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
else await main();
