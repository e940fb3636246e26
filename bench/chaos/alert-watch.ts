// A real Prometheus beside a chaos run (Debian's `prometheus`): it scrapes the three roles every
// second and evaluates ops/prometheus/tally-alerts.yml every second, and this watcher records when
// each alert fired. The rules are the production expressions with every `for:` set to 0s: the
// faults last seconds, the production holds minutes (the promtool unit tests check those).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../lib/role-process.js';
import { PROJECT_ROOT } from '../lib/run-context.js';

export interface FiredAlert {
  alertname: string;
  labels: Record<string, string>;
  /** epoch ms when the watcher first saw it firing */
  firstSeen: number;
  lastSeen: number;
}

export class AlertWatch {
  readonly fired = new Map<string, FiredAlert>();
  private polling = true;
  private readonly poller: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    this.poller = this.poll();
  }

  /** Starts Prometheus on a free port scraping `targets` (host:port), or undefined if it is not installed. */
  static async start(targets: string[]): Promise<AlertWatch | undefined> {
    const dir = mkdtempSync(join(tmpdir(), 'tally-chaos-prometheus-'));
    const rules = readFileSync(join(PROJECT_ROOT, 'ops', 'prometheus', 'tally-alerts.yml'), 'utf8').replace(/^(\s+)for: .*$/gm, '$1for: 0s');
    writeFileSync(join(dir, 'tally-alerts.yml'), rules);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [tally-alerts.yml]\nscrape_configs:\n  - job_name: tally\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`,
    );
    const port = await freePort();
    const child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    const started = await new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('spawn', () => resolve(true));
    });
    if (!started) {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    return new AlertWatch(child, dir, port);
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      try {
        const body = (await fetch(`http://127.0.0.1:${this.port}/api/v1/alerts`, { signal: AbortSignal.timeout(2000) }).then((r) => r.json())) as {
          data: { alerts: { labels: Record<string, string>; state: string }[] };
        };
        const now = Date.now();
        for (const alert of body.data.alerts) {
          if (alert.state !== 'firing') continue;
          const key = JSON.stringify(alert.labels);
          const seen = this.fired.get(key);
          if (seen) seen.lastSeen = now;
          else this.fired.set(key, { alertname: alert.labels.alertname ?? '?', labels: alert.labels, firstSeen: now, lastSeen: now });
        }
      } catch {
        // not up yet
      }
      await sleep(1000);
    }
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.poller;
    this.child.kill('SIGTERM');
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve(undefined) : this.child.once('exit', resolve)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
