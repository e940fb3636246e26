// `bench fanout --peer node-min`: the least a Node program can do to fan an SSE event out through
// the public API. A node:cluster of --processes workers (tally's broadcaster is a cluster too, with
// the same scheduling: workers accept themselves), each a bare `net` server: a GET for one of the --path values gets the SSE
// head and the path's current event in one socket.write(); every new event is ONE shared Buffer
// written with socket.write() to each socket of its path. No framework, no checks, no bookkeeping
// beyond a Set per path.
//
//   node dist/bench/fanout/node-min-server.js --port P --processes N --path /v1/surveys/<id>/results/stream …
//   stdin (the primary): "<path index> <length>\n" then <length> bytes: one whole SSE event
//   stdout (the primary): "listening\n" once every worker listens
import cluster from 'node:cluster';
import net from 'node:net';

const HEAD = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n', 'latin1');

interface Frame {
  path: number;
  bytes: Uint8Array;
}

function options(): { port: number; processes: number; paths: string[] } {
  const argv = process.argv.slice(2);
  let port = 0;
  let processes = 1;
  const paths: string[] = [];
  for (let i = 0; i + 1 < argv.length; i += 2) {
    if (argv[i] === '--port') port = Number(argv[i + 1]);
    else if (argv[i] === '--processes') processes = Number(argv[i + 1]);
    else if (argv[i] === '--path') paths.push(argv[i + 1]!);
  }
  return { port, processes, paths };
}

function primary(): void {
  const { processes } = options();
  // Workers accept on the shared socket themselves, as tally's broadcaster workers do (scheduling 'none').
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ serialization: 'advanced' });
  const workers = Array.from({ length: processes }, () => cluster.fork());
  let listening = 0;
  for (const worker of workers) {
    worker.once('listening', () => {
      listening += 1;
      if (listening === processes) process.stdout.write('listening\n');
    });
  }
  let pending: Buffer = Buffer.alloc(0);
  process.stdin.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const eol = pending.indexOf(0x0a);
      if (eol < 0) return;
      const [path, length] = pending.toString('latin1', 0, eol).split(' ').map(Number);
      if (pending.length < eol + 1 + length!) return;
      const frame: Frame = { path: path!, bytes: pending.subarray(eol + 1, eol + 1 + length!) };
      for (const worker of workers) worker.send(frame);
      pending = pending.subarray(eol + 1 + length!);
    }
  });
  process.stdin.on('end', () => {
    for (const worker of workers) worker.kill();
    process.exit(0);
  });
}

function worker(): void {
  const { port, paths } = options();
  const subscribers = paths.map(() => new Set<net.Socket>());
  const current: (Buffer | undefined)[] = paths.map(() => undefined);
  process.on('message', (frame: Frame) => {
    const bytes = Buffer.from(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength);
    current[frame.path] = bytes;
    for (const socket of subscribers[frame.path]!) socket.write(bytes);
  });
  const server = net.createServer((socket) => {
    let request = '';
    const onData = (chunk: Buffer) => {
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const index = paths.indexOf(request.split(' ')[1] ?? '');
      if (index < 0) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const now = current[index];
      socket.write(now ? Buffer.concat([HEAD, now]) : HEAD);
      subscribers[index]!.add(socket);
      socket.once('close', () => subscribers[index]!.delete(socket));
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
  server.listen({ port, host: '127.0.0.1', backlog: 4096 });
}

if (cluster.isPrimary) primary();
else worker();
