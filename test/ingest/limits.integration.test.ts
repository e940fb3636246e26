// Integration: Kafka, registry, PostgreSQL, Redis
// Limits and bad input: rate limits per IP (in process) and per voter (in Redis; 429 + Retry-After), a
// burst of malformed bodies (all 4xx with a catalogue code; the server keeps serving), body size
// (413) over a real socket, overload (503), and Kafka / registry unreachable (503 fast).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { errorCatalogue } from '../../src/errors.js';
import { waitFor } from '../support/wait.js';
import { createSurvey, startHarness, vote, type Harness } from './support/ingest-harness.js';

const PER_IP = 20;
const PER_VOTER = 3;
const BODY_BYTES = 4096;
let h: Harness;

before(async () => {
  h = await startHarness('ingest-limits', {
    env: { TALLY_RATE_LIMIT_PER_IP: String(PER_IP), TALLY_RATE_LIMIT_PER_VOTER: String(PER_VOTER), TALLY_RATE_LIMIT_WINDOW_MS: '60000', TALLY_BODY_LIMIT_BYTES: String(BODY_BYTES) },
  });
});

after(async () => {
  await h.close();
});

test('per-IP limit: 429 with Retry-After past the limit; other addresses are not affected', async () => {
  const survey = await createSurvey(h);
  const get = (remoteAddress: string) => h.app.inject({ method: 'GET', url: `/v1/surveys/${survey.id}`, remoteAddress });
  for (let i = 0; i < PER_IP; i += 1) assert.equal((await get('10.9.0.1')).statusCode, 200, `request ${i + 1}`);
  const limited = await get('10.9.0.1');
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().code, 'TALLY_ERR_RATE_LIMITED');
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
  assert.equal((await get('10.9.0.2')).statusCode, 200);
  // Ops routes are never limited.
  assert.equal((await h.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.9.0.1' })).statusCode, 200);
});

test('per-voter limit: 429 with Retry-After, whatever address the voter comes from', async () => {
  const survey = await createSurvey(h);
  const q = survey.questions[1]!;
  const token = h.voterToken('busy-voter');
  const send = (i: number) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/surveys/${survey.id}/votes`,
      remoteAddress: `10.8.0.${i}`,
      headers: { authorization: `Bearer ${token}` },
      payload: { answers: { [q.id]: [q.options[0]!.id] } },
    });
  const statuses = [];
  for (let i = 1; i <= PER_VOTER; i += 1) statuses.push((await send(i)).statusCode);
  assert.deepEqual(statuses, [202, 409, 409]);
  const limited = await send(PER_VOTER + 1);
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().code, 'TALLY_ERR_RATE_LIMITED');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
});

test('a burst of malformed requests all get 4xx with a catalogue code, and the server keeps serving', async () => {
  const survey = await createSurvey(h);
  const [q1, q2] = survey.questions;
  let n = 0;
  const malformed = (payload: string | object | undefined, contentType = 'application/json') => {
    n += 1;
    return h.app.inject({
      method: 'POST',
      url: `/v1/surveys/${survey.id}/votes`,
      remoteAddress: `10.7.${n >> 8}.${n & 255}`,
      headers: { authorization: `Bearer ${h.voterToken(`burst-${n}`)}`, 'content-type': contentType },
      payload: typeof payload === 'object' ? JSON.stringify(payload) : payload,
    });
  };
  const bodies: [string, string | object | undefined, string?][] = [
    ['invalid JSON', '{"answers": {'],
    ['trailing garbage', '{"answers": {}} x'],
    ['empty body', ''],
    ['JSON null', 'null'],
    ['JSON array', '[]'],
    ['JSON string', '"answers"'],
    ['answers is a list', { answers: [[q1!.options[0]!.id]] }],
    ['option id is a number', { answers: { [q2!.id]: [Number(q2!.options[0]!.id)] } }],
    ['option list is a string', { answers: { [q2!.id]: q2!.options[0]!.id } }],
    ['question id not numeric', { answers: { abc: [q2!.options[0]!.id] } }],
    ['unknown top-level field', { answers: { [q2!.id]: [q2!.options[0]!.id] }, voterId: 'x' }],
    ['__proto__ field', `{"answers": {"${q2!.id}": ["${q2!.options[0]!.id}"]}, "__proto__": {"admin": true}}`],
    ['region too long', { answers: { [q2!.id]: [q2!.options[0]!.id] }, region: 'x'.repeat(100) }],
    ['too many options', { answers: { [q1!.id]: Array.from({ length: 101 }, (_, i) => String(i + 1)) } }],
    ['deep nesting', '{"answers":' + '['.repeat(500) + ']'.repeat(500) + '}'],
    ['huge body', { answers: { [q2!.id]: [q2!.options[0]!.id] }, region: 'x'.repeat(BODY_BYTES * 4) }],
    ['form content type', 'answers=1', 'application/x-www-form-urlencoded'],
    ['text content type', '{"answers":{}}', 'text/plain'],
  ];
  const responses = await Promise.all(bodies.map(([, payload, type]) => malformed(payload, type)));
  const seen = new Map<string, string>();
  bodies.forEach(([name], i) => {
    const r = responses[i]!;
    assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${name}: status ${r.statusCode} ${r.body}`);
    const body = r.json();
    assert.ok(body.code in errorCatalogue, `${name}: code ${body.code}`);
    assert.equal(errorCatalogue[body.code as keyof typeof errorCatalogue].status, r.statusCode, name);
    assert.ok(typeof body.message === 'string' && body.message.length > 0);
    seen.set(name, body.code);
  });
  assert.equal(seen.get('invalid JSON'), 'TALLY_ERR_BAD_JSON');
  assert.equal(seen.get('unknown top-level field'), 'TALLY_ERR_VALIDATION');
  assert.equal(seen.get('huge body'), 'TALLY_ERR_BODY_TOO_LARGE');
  assert.equal((Object.prototype as Record<string, unknown>).admin, undefined, 'no prototype pollution');
  // Still serving: a valid vote goes through and the process is healthy.
  const ok = await vote(h, survey.id, 'after-burst', { answers: { [q2!.id]: [q2!.options[0]!.id] } });
  assert.equal(ok.statusCode, 202, ok.body);
  assert.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

test('over a real socket: a body over TALLY_BODY_LIMIT_BYTES is 413, then the server still answers', async () => {
  const survey = await createSurvey(h);
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address() as { port: number };
  const base = `http://127.0.0.1:${address.port}`;
  const headers = { authorization: `Bearer ${h.voterToken('socket-voter')}`, 'content-type': 'application/json' };
  const huge = await fetch(`${base}/v1/surveys/${survey.id}/votes`, { method: 'POST', headers, body: `{"answers":{},"region":"${'x'.repeat(1024 * 1024)}"}` });
  assert.equal(huge.status, 413);
  assert.equal(((await huge.json()) as { code: string }).code, 'TALLY_ERR_BODY_TOO_LARGE');
  const q = survey.questions[1]!;
  const ok = await fetch(`${base}/v1/surveys/${survey.id}/votes`, { method: 'POST', headers, body: JSON.stringify({ answers: { [q.id]: [q.options[0]!.id] } }) });
  assert.equal(ok.status, 202);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /tally_ingest_requests_total\{route="\/v1\/surveys\/:id\/votes",status="413"/);
  assert.match(metrics, /tally_votes_submitted_total\{outcome="accepted"/);
  assert.match(metrics, /tally_ingest_producer_batch_size_count/);
  assert.match(metrics, /tally_ingest_produce_seconds_bucket/);
});

test('under event-loop overload ingest routes answer 503 with Retry-After; ops routes still answer', async () => {
  const overloaded = await startHarness('ingest-overload', { app: { maxEventLoopDelayMs: 50 } });
  try {
    const survey = await createSurvey(overloaded);
    // Keep the loop ~150 ms late for longer than one 1 s sample window, as a CPU-starved process would be.
    for (let i = 0; i < 9; i += 1) {
      const busyUntil = Date.now() + 150;
      while (Date.now() < busyUntil);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const refused = await overloaded.app.inject({ method: 'GET', url: `/v1/surveys/${survey.id}` });
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().code, 'TALLY_ERR_OVERLOADED');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal((await overloaded.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await overloaded.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    // Recovers once the loop is on time again.
    await waitFor(
      async (seen) => {
        const { statusCode } = await overloaded.app.inject({ method: 'GET', url: `/v1/surveys/${survey.id}` });
        seen(statusCode);
        return statusCode === 200;
      },
      { timeoutMs: 20_000, what: 'ingest routes to answer 200 again after the overload', intervalMs: 250 },
    );
  } finally {
    await overloaded.close();
  }
});

test('Kafka unreachable: votes get 503 with Retry-After at once, nothing is claimed, /readyz says kafka down', async (t) => {
  // Few client-level retries, so the background connect attempt ends with the test instead of ~45 s later.
  const kafka = new kafkajs.Kafka({ brokers: ['127.0.0.1:1'], retry: { retries: 1, initialRetryTime: 100 }, logLevel: kafkajs.logLevel.NOTHING });
  const down = await startHarness('ingest-nokafka', { env: { TALLY_KAFKA_BROKERS: '127.0.0.1:1' }, connected: false, kafka });
  try {
    const survey = await createSurvey(down);
    const q = survey.questions[1]!;
    // "At once": the producer, never connected, refuses before queueing anything for Kafka, so
    // no send is attempted (and none waited for). How fast that is belongs in bench/, not here.
    assert.equal(down.deps.producer.available, false, 'the producer never connected');
    const started = Date.now();
    const r = await vote(down, survey.id, 'patient', { answers: { [q.id]: [q.options[0]!.id] } });
    t.diagnostic(`answered in ${Date.now() - started} ms`);
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().code, 'TALLY_ERR_UNAVAILABLE');
    assert.ok(Number(r.headers['retry-after']) >= 1);
    const sends = (await down.deps.metrics.batchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    assert.equal(sends, 0, 'no producer send was attempted');
    const again = await vote(down, survey.id, 'patient', { answers: { [q.id]: [q.options[0]!.id] } });
    assert.equal(again.statusCode, 503, 'not 409: the first attempt claimed nothing');
    const ready = await down.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().checks.kafka, 'down');
    assert.equal(ready.json().checks.postgres, 'up');
    assert.equal(ready.json().checks.redis, 'up');
  } finally {
    await down.close();
  }
});

test('schema registry unreachable at start-up: votes get 503 until the schema is registered', async () => {
  const noRegistry = await startHarness('ingest-noregistry', { env: { TALLY_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7' }, connected: false });
  try {
    await noRegistry.deps.producer.start();
    const survey = await createSurvey(noRegistry);
    const q = survey.questions[1]!;
    const r = await vote(noRegistry, survey.id, 'early', { answers: { [q.id]: [q.options[0]!.id] } });
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().code, 'TALLY_ERR_UNAVAILABLE');
    assert.match(r.json().message, /schema/);
    const ready = (await noRegistry.app.inject({ method: 'GET', url: '/readyz' })).json();
    assert.equal(ready.checks.registry, 'down');
    assert.equal(ready.checks.kafka, 'up');
  } finally {
    await noRegistry.close();
  }
});

test('/readyz is ready when Kafka, the registry, PostgreSQL and Redis answer', async () => {
  const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, ready.body);
  assert.deepEqual(ready.json().checks, { kafka: 'up', registry: 'up', postgres: 'up', redis: 'up' });
});
