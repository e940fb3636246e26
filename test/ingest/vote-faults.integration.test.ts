// Integration: Kafka, registry, PostgreSQL, Redis
// A voter is never locked out and never misled (issue 11), with the faults injected against the
// real services: a Redis reply lost on the way back (a TCP proxy in front of the real Redis),
// PostgreSQL gone between the claim and the record (a TCP proxy in front of the real PostgreSQL),
// and Kafka sends held or failed through the injectable Kafka client (IngestDepsOptions.kafka).
// Every test here failed on the code before issue 11 (src/ingest/README.md "When something fails").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { gatedKafka, SendGate } from './support/gated-kafka.js';
import { waitFor } from '../support/wait.js';
import { consumeVotes, createSurvey, startHarness, topicRecordCount, vote, type CreatedSurvey, type Harness } from './support/ingest-harness.js';

const gate = new SendGate();
let proxy: TcpProxy;
let pgProxy: TcpProxy;
let h: Harness;

before(async () => {
  const config = loadConfig({ ...process.env });
  const redisUrl = new URL(config.redisUrl);
  proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  const pgUrl = new URL(config.postgres.url);
  pgProxy = await startTcpProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  pgUrl.hostname = '127.0.0.1';
  pgUrl.port = String(pgProxy.port);
  const kafka = gatedKafka(createKafka(config, 'ingest', createLogger('test', { logLevel: 'warn' })), gate);
  h = await startHarness('ingest-faults', {
    env: { TALLY_REDIS_URL: `redis://127.0.0.1:${proxy.port}`, TALLY_PG_URL: pgUrl.toString() },
    kafka,
    // Surveys stay cached for the whole file: a vote reads its survey before PostgreSQL is cut.
    app: { catalogTtlMs: 3_600_000 },
  });
});

after(async () => {
  gate.open();
  pgProxy.restore();
  await h.close();
  await proxy.close();
  await pgProxy.close();
});

/** The one-vote keys of a survey in Redis (this layout and the one before issue 11), with their values and TTLs. */
async function claims(surveyId: string): Promise<{ key: string; value: string | null; ttl: number }[]> {
  const keys = [...(await h.deps.redis.keys(`tally:voted:{*}:${surveyId}:*`)), ...(await h.deps.redis.keys(`tally:voted:{${surveyId}:*}:*`))];
  return Promise.all(keys.map(async (key) => ({ key, value: await h.deps.redis.get(key), ttl: await h.deps.redis.ttl(key) })));
}

const ballot = (survey: CreatedSurvey, option: number, question = 1) => ({ answers: { [survey.questions[question]!.id]: [survey.questions[question]!.options[option]!.id] } });

test('a claim whose Redis reply was lost is re-sent by ioredis and counts as claimed by the same vote: 202, not 409', async () => {
  const survey = await createSurvey(h);
  // One vote first, so the claim script is in Redis's script cache (else the lost reply would be a NOSCRIPT).
  assert.equal((await vote(h, survey.id, 'warm-up', ballot(survey, 0))).statusCode, 202);
  const lost = proxy.loseReplyAfter('tally:voted:');
  const connectionsBefore = proxy.connections;
  const answer = await vote(h, survey.id, 'lost-reply', ballot(survey, 0));
  await lost;
  assert.ok(proxy.connections > connectionsBefore, 'ioredis reconnected after the lost reply');
  assert.equal(answer.statusCode, 202, answer.body);
  const records = await consumeVotes(h.config, await topicRecordCount(h.config));
  assert.equal(records.filter((r) => r.vote.voteId === answer.json().voteId).length, 1);
  // The voter's next, different ballot on the same question is a duplicate: the claim is theirs.
  const again = await vote(h, survey.id, 'lost-reply', ballot(survey, 1));
  assert.equal(again.json().code, 'TALLY_ERR_DUPLICATE_VOTE');
});

test('a claim stays pending (TTL ≤ 60 s) until Kafka acknowledged, answers a second request with 409 + Retry-After, then gets the long TTL', async () => {
  const survey = await createSurvey(h);
  gate.hold();
  const sendsBefore = gate.sends;
  const first = vote(h, survey.id, 'slow-kafka', ballot(survey, 0));
  try {
    await gate.reached(sendsBefore + 1);
    const pending = await claims(survey.id);
    assert.equal(pending.length, 1, 'one question claimed');
    assert.ok(pending[0]!.ttl > 0 && pending[0]!.ttl <= 60, `pending claim TTL ${pending[0]!.ttl} s`);
    // Another request of the same voter while the first is producing: told to come back, not "duplicate".
    const second = await vote(h, survey.id, 'slow-kafka', ballot(survey, 1));
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(second.json().code, 'TALLY_ERR_VOTE_IN_PROGRESS');
    assert.ok(Number(second.headers['retry-after']) >= 1, 'Retry-After tells the client when to come back');
  } finally {
    gate.open();
  }
  const accepted = await first;
  assert.equal(accepted.statusCode, 202, accepted.body);
  const confirmed = await claims(survey.id);
  assert.ok(confirmed[0]!.ttl > 24 * 3600, `confirmed claim TTL ${confirmed[0]!.ttl} s`);
  // After the first is recorded, the answer to the retry is final.
  const retry = await vote(h, survey.id, 'slow-kafka', ballot(survey, 1));
  assert.equal(retry.json().code, 'TALLY_ERR_DUPLICATE_VOTE');
});

test('a vote never sent (its batch failed before it) is released at once: the voter can vote again', async () => {
  const survey = await createSurvey(h);
  gate.hold();
  gate.fail('after-send');
  const sendsBefore = gate.sends;
  let inFlight;
  let queued;
  try {
    inFlight = vote(h, survey.id, 'first-in-batch', ballot(survey, 0));
    await gate.reached(sendsBefore + 1);
    // Queued behind the held send: never handed to Kafka, because that send fails and the producer is replaced.
    queued = vote(h, survey.id, 'queued-voter', ballot(survey, 0));
    await waitFor(async (seen) => {
      const claimed = await claims(survey.id);
      seen(claimed);
      return claimed.length === 2;
    }, { timeoutMs: 30_000, what: 'the queued vote to claim its question' });
  } finally {
    gate.open();
  }
  const [unknown, refused] = await Promise.all([inFlight, queued]);
  assert.equal(unknown!.json().code, 'TALLY_ERR_VOTE_OUTCOME_UNKNOWN', unknown!.body);
  assert.equal(refused!.statusCode, 503, refused!.body);
  assert.equal(refused!.json().code, 'TALLY_ERR_UNAVAILABLE');
  const left = await claims(survey.id);
  assert.equal(left.length, 1, `only the vote that may be in Kafka keeps a claim: ${JSON.stringify(left)}`);
  const retry = await waitFor(async (seen) => {
    const answer = await vote(h, survey.id, 'queued-voter', ballot(survey, 1));
    seen(answer.body);
    return answer.statusCode === 503 && answer.json().code === 'TALLY_ERR_UNAVAILABLE' ? undefined : answer; // producer reconnecting
  }, { timeoutMs: 30_000, what: 'the producer to reconnect' });
  assert.equal(retry.statusCode, 202, retry.body);
});

test('after an ambiguous Kafka failure: 503 OUTCOME_UNKNOWN with the voteId; another ballot is refused; the same ballot settles it', async () => {
  const survey = await createSurvey(h);
  const recordsBefore = await topicRecordCount(h.config);
  gate.fail('after-send'); // the record is written, the acknowledgement is lost
  const unknown = await vote(h, survey.id, 'ambiguous', ballot(survey, 0));
  assert.equal(unknown.statusCode, 503, unknown.body);
  assert.equal(unknown.json().code, 'TALLY_ERR_VOTE_OUTCOME_UNKNOWN');
  assert.ok(Number(unknown.headers['retry-after']) >= 1);
  const voteId = unknown.json().voteId as string;
  assert.match(voteId, /^[0-9a-f-]{36}$/);

  // A different ballot would be a duplicate of the record already in Kafka: never 202.
  const other = await waitFor(async (seen) => {
    const answer = await vote(h, survey.id, 'ambiguous', ballot(survey, 1));
    seen(answer.body);
    return answer.json().code === 'TALLY_ERR_UNAVAILABLE' ? undefined : answer;
  }, { timeoutMs: 30_000, what: 'the producer to reconnect' });
  assert.equal(other.statusCode, 409, other.body);
  assert.equal(other.json().code, 'TALLY_ERR_VOTE_UNSETTLED');
  assert.equal(other.json().voteId, voteId);

  // The same ballot again settles it under the same vote id.
  const settled = await vote(h, survey.id, 'ambiguous', ballot(survey, 0));
  assert.equal(settled.statusCode, 202, settled.body);
  assert.equal(settled.json().voteId, voteId);
  const records = (await consumeVotes(h.config, recordsBefore + 2)).filter((r) => r.vote.voteId === voteId);
  assert.equal(records.length, 2, 'the first record (acknowledgement lost) and the settling one');
  assert.deepEqual(records[0]!.vote.answers, records[1]!.vote.answers, 'both carry the same ballot: whichever counts, the voter was told the truth');
  const later = await vote(h, survey.id, 'ambiguous', ballot(survey, 1));
  assert.equal(later.json().code, 'TALLY_ERR_DUPLICATE_VOTE');
});

test('an ambiguous failure whose record was not written: the same ballot settles it with exactly one record', async () => {
  const survey = await createSurvey(h);
  gate.fail('before-send');
  const unknown = await vote(h, survey.id, 'not-written', ballot(survey, 1), { 'idempotency-key': 'nw-1' });
  assert.equal(unknown.json().code, 'TALLY_ERR_VOTE_OUTCOME_UNKNOWN', unknown.body);
  const settled = await waitFor(async (seen) => {
    const answer = await vote(h, survey.id, 'not-written', ballot(survey, 1), { 'idempotency-key': 'nw-1' });
    seen(answer.body);
    return answer.json().code === 'TALLY_ERR_UNAVAILABLE' ? undefined : answer;
  }, { timeoutMs: 30_000, what: 'the producer to reconnect' });
  assert.equal(settled.statusCode, 202, settled.body);
  assert.equal(settled.json().voteId, unknown.json().voteId);
  const replay = await vote(h, survey.id, 'not-written', ballot(survey, 1), { 'idempotency-key': 'nw-1' });
  assert.equal(replay.headers['idempotent-replayed'], 'true');
  assert.deepEqual(replay.json(), settled.json());
  const records = await consumeVotes(h.config, await topicRecordCount(h.config));
  assert.equal(records.filter((r) => r.vote.voteId === settled.json().voteId).length, 1);
});

test('a claim is released when the step after it fails (PostgreSQL gone while opening an answer session): 503, then the voter answers', async () => {
  const survey = await createSurvey(h);
  assert.equal((await vote(h, survey.id, 'warm-up-pg', ballot(survey, 0))).statusCode, 202); // survey in the catalog
  const question = survey.questions[0]!;
  const answer = () =>
    h.app.inject({
      method: 'POST',
      url: `/v1/surveys/${survey.id}/answers`,
      headers: { authorization: `Bearer ${h.voterToken('pg-gone')}` },
      payload: { question: question.id, option: question.options[1]!.id },
    });
  pgProxy.cut(); // the pool's idle connections are closed under it, new ones refused
  let refused;
  try {
    refused = await answer();
  } finally {
    pgProxy.restore();
  }
  assert.equal(refused.statusCode, 503, refused.body);
  assert.equal(refused.json().code, 'TALLY_ERR_UNAVAILABLE');
  assert.equal((await claims(survey.id)).length, 1, 'only the warm-up vote holds a claim: the failed answer released its own');
  const again = await answer();
  assert.equal(again.statusCode, 202, again.body);
  assert.equal(again.json().questionAnswer.option, question.options[1]!.id);
});
