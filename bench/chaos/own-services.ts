// The chaos run's own Redis and PostgreSQL, on free ports with their data in a temp dir, so
// restarting them (a fault of the schedule) never touches the machine's, which other work uses.
// Redis runs like the stack's (`--save ""`, no AOF): a restart loses every key, as in production
// without persistence. PostgreSQL is a fresh cluster (initdb) with the stack's roles and databases
// (stack/postgres-init.sql) and tally's migrations; its restart is `pg_ctl restart -m immediate`
// (no shutdown checkpoint: crash recovery on start).
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../lib/role-process.js';
import { PROJECT_ROOT } from '../lib/run-context.js';

const run = promisify(execFile);

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} not serving after ${timeoutMs} ms`);
}

export class OwnRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'tally-chaos-redis-'));
  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private ping(): Promise<boolean> {
    return run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'ping']).then(({ stdout }) => stdout.includes('PONG'));
  }

  private async up(): Promise<void> {
    await run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no', '--dir', this.dir, '--logfile', join(this.dir, 'redis.log'), '--pidfile', join(this.dir, 'redis.pid')]);
    await waitUntil(`redis on ${this.port}`, 20_000, () => this.ping());
  }

  /** SHUTDOWN NOSAVE (every key is lost), then start again on the same port. */
  async restart(): Promise<void> {
    await this.shutdown();
    await this.up();
  }

  async shutdown(): Promise<void> {
    await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'shutdown', 'nosave']).catch(() => undefined);
    await waitUntil(`redis on ${this.port} to stop`, 10_000, async () => !(await this.ping().catch(() => false)));
  }

  async stop(): Promise<void> {
    await this.shutdown().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  const bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(join(dir, 'initdb')));
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
  return bin;
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

export class OwnPostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'tally-chaos-pg-'));
  private readonly bin = postgresBin();
  private constructor(readonly port: number) {}

  /** initdb, start, roles and databases of the stack, tally's migrations. */
  static async start(): Promise<OwnPostgres> {
    const pg = new OwnPostgres(await freePort());
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const uid = Number(stdout.trim());
      chownSync(pg.dir, uid, uid);
    }
    chmodSync(pg.dir, 0o700);
    await pg.pg('initdb', ['-D', join(pg.dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await pg.up();
    const init = readFileSync(join(PROJECT_ROOT, 'stack', 'postgres-init.sql'), 'utf8');
    await new Promise<void>((resolve, reject) => {
      const [cmd, args] = asPostgres(join(pg.bin, 'psql'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAt']);
      const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], cwd: '/' });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`postgres-init.sql failed: ${stderr}`))));
      child.stdin.end(init);
    });
    await run(process.execPath, [join(PROJECT_ROOT, 'dist', 'src', 'cli.js'), 'migrate'], { env: { ...process.env, ...pg.env() } });
    return pg;
  }

  env(): Record<string, string> {
    return {
      TALLY_PG_URL: `postgres://tally_app:tally_app@127.0.0.1:${this.port}/tally`,
      TALLY_PG_ADMIN_URL: `postgres://tally_admin:tally_admin@127.0.0.1:${this.port}/tally`,
    };
  }

  private async pg(tool: string, args: string[]): Promise<string> {
    const [cmd, full] = asPostgres(join(this.bin, tool), args);
    const { stdout } = await run(cmd, full, { cwd: '/' });
    return stdout;
  }

  private ready(): Promise<boolean> {
    return run(join(this.bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(this.port)]).then(() => true);
  }

  private async up(): Promise<void> {
    await this.pg('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'postgres.log'), '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on`, '-w', 'start']);
    await waitUntil(`postgres on ${this.port}`, 30_000, () => this.ready());
  }

  /** `pg_ctl restart -m immediate`: connections are cut, crash recovery on start. */
  async restart(): Promise<void> {
    await this.pg('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    await this.up();
  }

  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
