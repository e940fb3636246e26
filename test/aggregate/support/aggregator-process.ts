// `node dist/src/cli.js aggregate` as a child process with a test's configuration passed as TALLY_*
// variables: started, awaited on /readyz, killed with SIGKILL (crash) or SIGTERM (graceful).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../support/wait.js';

export { freePort } from '../../support/free-port.js';

const CLI = fileURLToPath(new URL('../../../src/cli.js', import.meta.url));

const LOG_TAIL_LINES = 20;

export class AggregatorProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | string | null> = Promise.resolve(null);
  /** Resolves once the child's stdout and stderr are closed: all it wrote has been piped on. */
  private outputClosed: Promise<void> = Promise.resolve();
  private readonly log: WriteStream | null;
  starts = 0;

  constructor(
    private readonly env: Record<string, string>,
    readonly port: number,
    private readonly logPath?: string,
    private readonly nodeArgs: string[] = [],
  ) {
    this.log = logPath ? createWriteStream(logPath, { flags: 'a' }) : null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process (not waiting for readiness). */
  spawn(): void {
    if (this.running) throw new Error('aggregator already running');
    const child = spawn(process.execPath, [...this.nodeArgs, CLI, 'aggregate'], {
      env: { ...process.env, ...this.env, TALLY_AGGREGATE_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.log) {
      child.stdout!.pipe(this.log, { end: false });
      child.stderr!.pipe(this.log, { end: false });
    } else {
      child.stdout!.resume();
      child.stderr!.resume();
    }
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    this.outputClosed = new Promise((resolve) => child.once('close', () => resolve()));
    this.child = child;
    this.starts++;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.spawn();
    await this.waitReady(timeoutMs);
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async (seen) => {
        if (!this.running) throw new Error(`aggregator exited before ready: ${String(await this.exited)}${await this.logTail()}`);
        const response = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(1000) }).catch((error: Error) => error);
        seen(response instanceof Error ? response.message : `HTTP ${response.status}`);
        return !(response instanceof Error) && response.status === 200;
      },
      { timeoutMs, what: `the aggregator's /readyz on port ${this.port}`, intervalMs: 100 },
    );
  }

  /** The end of the child's log (where a start-up failure says why), for error messages. */
  private async logTail(): Promise<string> {
    if (!this.logPath || !this.log) return ' (no log kept: pass a log path to see why)';
    // Everything the child wrote is piped on once its output closed; a write callback runs after
    // every earlier write reached the file.
    await this.outputClosed;
    await new Promise<void>((resolve) => this.log!.write('', () => resolve()));
    const lines = readFileSync(this.logPath, 'utf8').trimEnd().split('\n');
    return `; last lines of ${this.logPath}:\n${lines.slice(-LOG_TAIL_LINES).join('\n')}`;
  }

  /** kill -9: no chance to finish anything. */
  async crash(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait; returns the exit code (or signal). */
  async stop(timeoutMs = 30_000): Promise<number | string | null> {
    if (!this.running) return this.exited;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    return response.text();
  }

  close(): void {
    this.log?.end();
  }
}
