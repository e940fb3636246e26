// Integration: Kafka, registry, PostgreSQL, Redis, Prometheus
// Operations: a real Prometheus server (Debian's `prometheus`) scrapes /metrics of every role and
// the consumer-lag series is queryable. /usr/bin/prometheus is installed by scripts/test.sh when
// missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start as startIngest } from '../../src/ingest/ingest-role.js';
import { start as startAggregate } from '../../src/aggregate/aggregate-role.js';
import { start as startBroadcast } from '../../src/broadcast/broadcast-role.js';
import { freePort } from '../support/free-port.js';
import { testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';
import { waitFor } from '../support/wait.js';

const hostOf = (address: string) => new URL(address).host;

interface PromTarget { health: string; scrapeUrl: string; lastError: string }

test('Prometheus scrapes every role and shows the consumer lag', async () => {
  const config = testConfig('prometheus', { TALLY_VOTES_PARTITIONS: '2', TALLY_BROADCAST_TARGET_CLIENTS: '1000' });
  const roles = [await startIngest(config), await startAggregate(config), await startBroadcast(config)];
  const dir = mkdtempSync(join(tmpdir(), 'tally-prometheus-'));
  const promPort = await freePort();
  const targets = roles.map((role) => hostOf(role.addresses[0]!));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tally\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`,
  );
  const prometheus = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ], { stdio: 'ignore' });
  const api = `http://127.0.0.1:${promPort}/api/v1`;
  try {
    await waitFor(
      async (seen) => {
        const body = (await fetch(`${api}/targets`).then((r) => r.json())) as { data: { activeTargets: PromTarget[] } };
        seen(body.data.activeTargets.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`).join('; '));
        return body.data.activeTargets.filter((t) => t.health === 'up').length === targets.length;
      },
      { timeoutMs: 60_000, what: `Prometheus to scrape all ${targets.length} role targets successfully`, intervalMs: 500, retryOnError: true },
    );

    const lag = async () => {
      const body = (await fetch(`${api}/query?query=${encodeURIComponent(`sum(tally_consumer_lag{topic="${config.kafka.votesTopic}"})`)}`).then((r) => r.json())) as {
        data: { result: { value: [number, string] }[] };
      };
      return body.data.result.length ? Number(body.data.result[0]!.value[1]) : undefined;
    };
    const seen = await waitFor(lag, { timeoutMs: 30_000, what: 'tally_consumer_lag in a Prometheus query', intervalMs: 500 });
    assert.equal(typeof seen, 'number', 'tally_consumer_lag is queryable in Prometheus');
    const requests = (await fetch(`${api}/query?query=tally_ingest_requests_total`).then((r) => r.json())) as { status: string };
    assert.equal(requests.status, 'success');
  } finally {
    prometheus.kill('SIGTERM');
    for (const role of roles.reverse()) await role.close();
    await deleteTestTopics(config);
  }
});
