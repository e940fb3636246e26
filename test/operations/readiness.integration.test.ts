// Integration: Kafka, registry, PostgreSQL, Redis, redis-server
// Operations: /readyz follows the real dependencies. Redis: a private redis-server of this test,
// stopped and started again. Kafka: the ingest app reaches the shared broker through a TCP proxy of
// this test (test/support/tcp-proxy.ts), frozen to make the broker look hung to this client only;
// the broker itself, which other tests and people use, is never touched. Needs redis-server on PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../src/config.js';
import { freePort } from '../support/free-port.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';
import { startHarness, type Harness } from '../ingest/support/ingest-harness.js';

async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        }).on('error', () => resolve(false));
      }),
    { timeoutMs: 10_000, what: `the private redis-server to listen on ${port}`, intervalMs: 100 },
  );
  return redis;
}

/**
 * A kafkajs client (createKafka's retry settings) whose every connection, to the bootstrap broker
 * and to the brokers the metadata names alike, goes through `proxy`: the stack has one broker.
 */
function kafkaThrough(proxy: TcpProxy, brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'tally-readiness-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 200, retries: 8 },
    socketFactory: ({ onConnect }) => connect({ host: '127.0.0.1', port: proxy.port }, onConnect).setKeepAlive(true, 60_000),
  });
}

async function readiness(h: Harness): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await h.app.inject({ method: 'GET', url: '/readyz' });
  return { status: response.statusCode, checks: (response.json() as { checks: Record<string, string> }).checks };
}

/** Polls /readyz until it answers `want`; returns its checks. */
async function eventually(h: Harness, want: number, what: string): Promise<Record<string, string>> {
  const { checks } = await waitFor(
    async (seen) => {
      const answer = await readiness(h);
      seen(answer);
      return answer.status === want && answer;
    },
    { timeoutMs: 30_000, what: `/readyz ${want} (${what})`, intervalMs: 250 },
  );
  return checks;
}

test('/readyz turns unready when Redis or Kafka stops and ready again when it returns', async () => {
  const redisPort = await freePort();
  let redis = await startRedis(redisPort);
  const [host, port] = loadConfig(process.env).kafka.brokers[0]!.split(':');
  const proxy = await startTcpProxy({ host: host!, port: Number(port) });
  let h: Harness | undefined;
  try {
    h = await startHarness('readiness', {
      env: { TALLY_REDIS_URL: `redis://127.0.0.1:${redisPort}` },
      kafka: kafkaThrough(proxy, [`127.0.0.1:${proxy.port}`]),
    });
    await eventually(h, 200, 'initially');
    assert.ok(proxy.connections > 0, 'the ingest Kafka client connects through the proxy');

    redis.kill('SIGKILL');
    assert.equal((await eventually(h, 503, 'Redis stopped')).redis, 'down');
    redis = await startRedis(redisPort);
    await eventually(h, 200, 'Redis back');

    proxy.freeze();
    try {
      const checks = await eventually(h, 503, 'Kafka frozen');
      assert.equal(checks.kafka, 'down');
      assert.equal(checks.redis, 'up', 'only Kafka is down');
    } finally {
      proxy.restore();
    }
    await eventually(h, 200, 'Kafka back');
  } finally {
    await h?.close();
    await proxy.close();
    redis.kill('SIGKILL');
  }
});
