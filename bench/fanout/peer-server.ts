// The servers `bench fanout --peer …` runs on the same swarm and sizes as tally, each fed the same
// snapshot events at the same period by the bench (peer-feed.ts):
//   floor     the C epoll server floor-server.c (one write() per socket of a shared buffer), one
//             process per broadcaster process, SO_REUSEPORT; built by the bench with gcc;
//   node-min  node-min-server.ts: a node:cluster of bare `net` servers, one shared Buffer written
//             with socket.write() to each socket;
//   nchan     nginx + nchan from Debian (installed with apt-get if missing), configuration written
//             into a temp dir, `worker_processes` = the broadcaster's process count, fed over its
//             publisher location.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { cProgram } from '../lib/c-program.js';
import { processTreeUsage, type ProcessUsage } from '../lib/process-usage.js';
import { PROJECT_ROOT } from '../lib/run-context.js';

export const PEERS = ['floor', 'node-min', 'nchan'] as const;
export type PeerName = (typeof PEERS)[number];

/** A server a fan-out step measures: tally's broadcaster or a peer. */
export interface FanoutServer {
  readonly name: string;
  readonly port: number;
  /** server processes serving clients (tally: incl. its primary) */
  readonly processes: number;
  usage(): ProcessUsage;
  stop(): Promise<string>;
}

/** A peer also takes the events the bench publishes. */
export interface PeerServer extends FanoutServer {
  /** One snapshot event of survey `pathIndex`: its SSE id, its JSON and the whole SSE event. */
  publish(pathIndex: number, surveyId: string, json: string, event: Buffer): void;
}

export interface PeerStart {
  port: number;
  processes: number;
  paths: string[];
  logDir: string;
  /** extra node arguments for the node-min peer (e.g. --cpu-prof); its cluster workers inherit them */
  nodeArgs?: string[];
}

export const FLOOR_SERVER_SOURCE = 'bench/fanout/floor-server.c';
let floorBuilt: string | undefined;
/** Built once per bench process, like the lean swarm. */
function floorServerBinary(): string {
  floorBuilt ??= cProgram(FLOOR_SERVER_SOURCE);
  return floorBuilt;
}
const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

export async function startPeer(name: PeerName, start: PeerStart): Promise<PeerServer> {
  switch (name) {
    case 'floor':
      return StdinFedServer.start('floor', start, Array.from({ length: start.processes }, () => [floorServerBinary(), ['--port', String(start.port), ...start.paths.flatMap((p) => ['--path', p])]] as const));
    case 'node-min':
      return StdinFedServer.start('node-min', start, [[process.execPath, [...(start.nodeArgs ?? []), join(PROJECT_ROOT, 'dist', 'bench', 'fanout', 'node-min-server.js'), '--port', String(start.port), '--processes', String(start.processes), ...start.paths.flatMap((p) => ['--path', p])]]], start.processes);
    case 'nchan':
      return NchanServer.start(start);
  }
}

function frameHeader(pathIndex: number, event: Buffer): Buffer {
  return Buffer.from(`${pathIndex} ${event.length}\n`, 'latin1');
}

/** Processes that take events on stdin and say "listening" on stdout (floor-server.c, node-min-server.ts). */
class StdinFedServer implements PeerServer {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly processes: number,
    private readonly children: ChildProcess[],
  ) {}

  static async start(name: string, start: PeerStart, commands: (readonly [string, string[]])[], processes = commands.length): Promise<StdinFedServer> {
    const log = createWriteStream(join(start.logDir, `${name}-${start.port}.log`));
    const children = commands.map(([command, args]) => spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const server = new StdinFedServer(name, start.port, processes, children);
    try {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`${name} did not say "listening" within 60 s`)), 60_000);
              child.stderr!.pipe(log, { end: false });
              child.stdin!.on('error', () => undefined);
              child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
              createInterface({ input: child.stdout! }).on('line', (line) => {
                if (line.trim() === 'listening') {
                  clearTimeout(timer);
                  resolve();
                }
              });
            }),
        ),
      );
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  publish(pathIndex: number, _surveyId: string, _json: string, event: Buffer): void {
    const header = frameHeader(pathIndex, event);
    for (const child of this.children) {
      if (child.exitCode !== null || !child.stdin!.writable) continue;
      child.stdin!.write(header);
      child.stdin!.write(event);
    }
  }

  usage(): ProcessUsage {
    const total: ProcessUsage = { cpuSeconds: 0, rssBytes: 0, processes: 0 };
    for (const child of this.children) {
      if (!child.pid) continue;
      const u = processTreeUsage(child.pid);
      total.cpuSeconds += u.cpuSeconds;
      total.rssBytes += u.rssBytes;
      total.processes += u.processes;
    }
    return total;
  }

  async stop(): Promise<string> {
    const exits = this.children.map((child) => (child.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()))));
    for (const child of this.children) child.stdin!.end();
    const done = await Promise.race([Promise.all(exits).then(() => true), sleep(10_000).then(() => false)]);
    if (!done) for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    return done ? 'exited' : 'killed';
  }
}

/** Installs nginx + nchan from Debian if the module is missing (this machine is root, apt works). */
export function ensureNchan(say: (message: string) => void): void {
  if (existsSync(NCHAN_MODULE)) return;
  say('nginx + nchan missing: apt-get install -y nginx libnginx-mod-nchan');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', 'nginx', 'libnginx-mod-nchan'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('apt-get', ['install', '-y', 'nginx', 'libnginx-mod-nchan'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  if (!existsSync(NCHAN_MODULE)) throw new Error(`nchan installed but ${NCHAN_MODULE} is missing`);
}

export function nchanConfig(dir: string, port: number, processes: number, logDir: string): string {
  return `load_module ${NCHAN_MODULE};
user root;
worker_processes ${processes};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${logDir}/nchan-${port}.log warn;
events { worker_connections 19500; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  nchan_message_buffer_length 4;
  nchan_message_timeout 1h;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location ~ ^/pub/(.+)$ {
      nchan_publisher http;
      nchan_channel_id $1;
    }
    location ~ ^/v1/surveys/([^/]+)/results/stream$ {
      nchan_subscriber eventsource;
      nchan_channel_id $1;
      nchan_subscriber_first_message -1;
      nchan_eventsource_event snapshot;
    }
  }
}
`;
}

class NchanServer implements PeerServer {
  readonly name = 'nchan';
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  private constructor(
    readonly port: number,
    readonly processes: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(start: PeerStart): Promise<NchanServer> {
    const dir = mkdtempSync(join(os.tmpdir(), 'tally-bench-nchan-'));
    for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'nginx.conf'), nchanConfig(dir, start.port, start.processes, start.logDir));
    const log = createWriteStream(join(start.logDir, `nchan-${start.port}.stderr.log`));
    const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process on;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const server = new NchanServer(start.port, start.processes, child, dir);
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(start.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await server.stop();
        throw new Error(`nginx + nchan did not listen on ${start.port} (see nchan-${start.port}.log)`);
      }
      await sleep(100);
    }
    return server;
  }

  publish(_pathIndex: number, surveyId: string, json: string): void {
    const request = http.request({ host: '127.0.0.1', port: this.port, method: 'POST', path: `/pub/${surveyId}`, agent: this.agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) } }, (response) => response.resume());
    request.on('error', () => undefined);
    request.end(json);
  }

  usage(): ProcessUsage {
    return this.child.pid ? processTreeUsage(this.child.pid) : { cpuSeconds: 0, rssBytes: 0, processes: 0 };
  }

  async stop(): Promise<string> {
    this.agent.destroy();
    let how = 'exited';
    if (this.child.exitCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM'); // fast shutdown: a graceful one waits for the streams to end
      if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
        this.child.kill('SIGKILL');
        how = 'killed';
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    return how;
  }
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
