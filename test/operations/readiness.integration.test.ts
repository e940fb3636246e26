// Integration: Kafka, registry, PostgreSQL, Redis, redis-server
// Operations: /readyz follows the real dependencies. Redis: a private redis-server of this test,
// stopped and started again. Kafka: the stack's broker is frozen with SIGSTOP and thawed with
// SIGCONT (stopping it for real would cost every later test a broker restart).
// Needs redis-server on PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { start as startIngest } from '../../src/ingest/ingest-role.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from '../support/free-port.js';
import { testConfig } from '../support/test-config.js';

async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      socket.unref();
      setTimeout(() => socket.destroy(), 50);
    });
    if (listening) return redis;
  }
  throw new Error('private redis-server did not start');
}

/** The pid of the local Kafka broker serving the configured brokers (whoever started it). */
function localBrokerPid(): number {
  const out = execFileSync('pgrep', ['-f', 'kafka\\.Kafka .*server\\.properties'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(out.length, 1, `exactly one local Kafka broker process (found: ${out.join(', ')})`);
  return Number(out[0]);
}

async function readiness(url: string): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, checks: ((await response.json()) as { checks: Record<string, string> }).checks };
}

async function eventually(url: string, want: number, what: string): Promise<Record<string, string>> {
  let last = { status: 0, checks: {} as Record<string, string> };
  for (let i = 0; i < 40; i++) {
    last = await readiness(url);
    if (last.status === want) return last.checks;
    await sleep(500);
  }
  assert.fail(`${what}: /readyz stayed ${last.status} ${JSON.stringify(last.checks)}`);
}

test('/readyz turns unready when Redis or Kafka stops and ready again when it returns', { timeout: 120_000 }, async () => {
  const redisPort = await freePort();
  let redis = await startRedis(redisPort);
  const config = testConfig('readiness', { TALLY_REDIS_URL: `redis://127.0.0.1:${redisPort}` });
  const ingest = await startIngest(config);
  const url = ingest.addresses[0]!;
  const kafkaPid = localBrokerPid();
  try {
    await eventually(url, 200, 'initially');

    redis.kill('SIGKILL');
    assert.equal((await eventually(url, 503, 'Redis stopped')).redis, 'down');
    redis = await startRedis(redisPort);
    await eventually(url, 200, 'Redis back');

    process.kill(kafkaPid, 'SIGSTOP');
    try {
      assert.equal((await eventually(url, 503, 'Kafka stopped')).kafka, 'down');
    } finally {
      process.kill(kafkaPid, 'SIGCONT');
    }
    await eventually(url, 200, 'Kafka back');
  } finally {
    await ingest.close();
    redis.kill('SIGKILL');
    const admin = createKafka(config, 'readiness-test', createLogger('test', config)).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
