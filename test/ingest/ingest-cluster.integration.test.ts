// Integration: Kafka, registry, PostgreSQL, Redis
// `tally ingest` with TALLY_INGEST_PROCESSES=2 runs a node:cluster on one port (src/role-cluster.ts):
// votes are served by both workers, each with its own producer; /metrics of any worker is the sum
// over the cluster; /readyz is ready only when every worker is, and a worker that dies is replaced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { mintToken } from '../../src/ingest/tokens.js';
import { startRoleCli, type RoleCli } from '../support/role-cli.js';
import { testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';
import { waitFor } from '../support/wait.js';
import { sampleSurvey, topicRecordCount } from './support/ingest-harness.js';

const config = testConfig('ingest-cluster', { TALLY_INGEST_PROCESSES: '2' });
let cli: RoleCli;
let primary: ChildProcess;
let base: string;

function workerPids(): number[] {
  const children = readFileSync(`/proc/${primary.pid}/task/${primary.pid}/children`, 'utf8').trim();
  return children ? children.split(/\s+/).map(Number) : [];
}

/** One request on a connection of its own, so the primary hands successive ones to different workers. */
function request(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${base}${path}`,
      { method, agent: false, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    // A connection the primary handed to a worker that is being killed may never be answered.
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

before(async () => {
  cli = await startRoleCli(
    'ingest',
    { TALLY_INGEST_PORT: '0', TALLY_INGEST_PROCESSES: '2', TALLY_VOTES_TOPIC: config.kafka.votesTopic, TALLY_DLQ_TOPIC: config.kafka.dlqTopic },
    { listeningMessage: 'ingest cluster listening', timeoutMs: 60_000 },
  );
  primary = cli.primary;
  base = `http://127.0.0.1:${cli.port}`;
});

after(async () => {
  await cli.stop();
  await deleteTestTopics(config);
});

test('two processes share the port; votes, /metrics and /readyz answer for the whole cluster', async () => {
  assert.equal(workerPids().length, 2);
  const ready = await waitFor(async (seen) => {
    const r = await request('GET', '/readyz', '');
    seen(r);
    return r.status === 200 ? r.json : undefined;
  }, { timeoutMs: 60_000, what: 'the cluster\'s /readyz to answer 200' });
  assert.deepEqual((ready.processes as { expected: number; answered: number }).answered, 2);

  const admin = mintToken(config, { kind: 'admin' }, 600);
  const created = await request('POST', '/v1/internal/surveys', admin, sampleSurvey());
  assert.equal(created.status, 201);
  const survey = created.json as { id: string; questions: { id: string; options: { id: string }[] }[] };
  assert.equal((await request('PUT', `/v1/internal/surveys/${survey.id}/publish`, admin)).status, 200);
  const q = survey.questions[1]!;
  const VOTES = 20;
  const answers = await Promise.all(
    Array.from({ length: VOTES }, (_, i) =>
      request('POST', `/v1/surveys/${survey.id}/votes`, mintToken(config, { kind: 'voter', voterId: `cluster-${i}` }, 600), { answers: { [q.id]: [q.options[i % 2]!.id] } }),
    ),
  );
  assert.deepEqual(answers.map((a) => a.status), Array(VOTES).fill(202));
  assert.equal(await topicRecordCount(config), VOTES);

  // Any worker's /metrics is the cluster's sum: every vote counted once, whichever process took it.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const accepted = /tally_votes_submitted_total\{outcome="accepted"[^}]*\} (\d+)/.exec(metrics);
  assert.equal(Number(accepted?.[1]), VOTES, 'accepted votes summed over the cluster');
});

test('a worker that does not answer makes /readyz unready; one that dies is replaced', async () => {
  const [victim] = workerPids();
  // Frozen first, so the unready window lasts as long as the test needs (a killed worker is
  // replaced within a second or two, which a poll on a loaded machine can miss entirely).
  process.kill(victim!, 'SIGSTOP');
  const unready = await waitFor(async (seen) => {
    const r = await request('GET', '/readyz', '');
    seen(r);
    return r.status === 503 ? r.json : undefined;
  }, { timeoutMs: 30_000, what: '/readyz to notice the worker that does not answer', intervalMs: 10, retryOnError: true });
  assert.equal((unready.processes as { answered: number }).answered, 1);
  process.kill(victim!, 'SIGKILL');
  const ready = await waitFor(async (seen) => {
    const r = await request('GET', '/readyz', '');
    seen(r);
    return r.status === 200 ? r.json : undefined;
  }, { timeoutMs: 60_000, what: 'the replaced worker to be ready (/readyz 200)', retryOnError: true });
  assert.ok(!(ready.processes as { ready: number[] }).ready.includes(victim!), 'the dead worker is not among the ready ones');
  assert.equal(workerPids().length, 2);
  assert.ok(!workerPids().includes(victim!));
});
