// Integration: Kafka, registry, PostgreSQL, Redis
// Acceptance: create → publish → vote → the record is in the votes topic on its survey key's
// partition, decodable with the registered schema; every rejection has its code; retries with an
// Idempotency-Key yield one record; hot surveys spread over their shard keys; a failed Kafka send
// never tells the voter he voted already. Real Kafka, registry, PostgreSQL and Redis.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionKeyFor } from '../../src/partition-key.js';
import { voterPseudonym } from '../../src/ingest/voter-pseudonym.js';
import { consumeVotes, createSurvey, signToken, partitionOfKey, sampleSurvey, startHarness, topicRecordCount, vote, type Harness } from './support/ingest-harness.js';
import { waitFor, within } from '../support/wait.js';

let h: Harness;

before(async () => {
  h = await startHarness('ingest-votes');
});

after(async () => {
  await h.close();
});

test('votes reach the votes topic on the survey key partition, with the ack offsets, decodable with the registered schema', async () => {
  const survey = await createSurvey(h);
  const [q1, q2] = survey.questions;
  const answers = { [q1!.id]: [q1!.options[0]!.id, q1!.options[2]!.id], [q2!.id]: [q2!.options[1]!.id] };
  const responses = await Promise.all(['alice', 'bob', 'carol'].map((voter) => vote(h, survey.id, voter, { answers, region: 'EU' })));
  for (const response of responses) assert.equal(response.statusCode, 202, response.body);
  const acks = responses.map((r) => r.json() as { voteId: string; surveyId: string; partition: number; offset: string; alreadyAnswered: string[] });

  const expectedPartition = partitionOfKey(survey.id, h.config.kafka.partitions);
  const records = await consumeVotes(h.config, 3);
  for (const ack of acks) {
    assert.equal(ack.surveyId, survey.id);
    assert.equal(ack.partition, expectedPartition);
    assert.deepEqual(ack.alreadyAnswered, []);
    const record = records.find((r) => r.vote.voteId === ack.voteId);
    assert.ok(record, `record of vote ${ack.voteId}`);
    assert.equal(record.partition, ack.partition);
    assert.equal(record.offset, ack.offset);
    assert.equal(record.key, survey.id);
    assert.equal(record.vote.surveyId, survey.id);
    assert.deepEqual({ ...record.vote.answers }, answers);
    assert.equal(record.vote.region, 'EU');
    assert.ok(Math.abs(record.vote.castAt - Date.now()) < 60_000);
  }
  // The voter id in Kafka is the HMAC pseudonym, never the identity from the token.
  const voterIds = records.map((r) => r.vote.voterId).sort();
  assert.deepEqual(voterIds, ['alice', 'bob', 'carol'].map((v) => voterPseudonym(h.config.secrets.voterHmac, v)).sort());
  assert.ok(!records.some((r) => ['alice', 'bob', 'carol'].includes(r.vote.voterId)));
  // One batch can carry several requests: the three offsets are distinct and consecutive.
  assert.deepEqual(acks.map((a) => Number(a.offset)).sort((a, b) => a - b), [0, 1, 2]);
});

test('a retried request with the same Idempotency-Key returns the same answer and yields one record', async () => {
  const survey = await createSurvey(h);
  const q = survey.questions[1]!;
  const before = await topicRecordCount(h.config);
  const payload = { answers: { [q.id]: [q.options[0]!.id] } };
  const headers = { 'idempotency-key': 'retry-me-1' };
  const first = await vote(h, survey.id, 'dave', payload, headers);
  const second = await vote(h, survey.id, 'dave', payload, headers);
  assert.equal(first.statusCode, 202, first.body);
  assert.equal(second.statusCode, 202, second.body);
  assert.deepEqual(second.json(), first.json());
  assert.equal(second.headers['idempotent-replayed'], 'true');
  // Concurrent retries: one runs, the others replay it or are told it is in progress.
  const burst = await Promise.all(Array.from({ length: 5 }, () => vote(h, survey.id, 'erin', payload, { 'idempotency-key': 'burst' })));
  const accepted = burst.filter((r) => r.statusCode === 202).map((r) => r.json().voteId as string);
  assert.ok(accepted.length >= 1);
  assert.equal(new Set(accepted).size, 1);
  for (const r of burst.filter((r) => r.statusCode !== 202)) assert.equal(r.json().code, 'TALLY_ERR_REQUEST_IN_PROGRESS');
  assert.equal(await topicRecordCount(h.config), before + 2);
  // Without the key, a second vote is a duplicate.
  const again = await vote(h, survey.id, 'dave', payload);
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().code, 'TALLY_ERR_DUPLICATE_VOTE');
});

test('every rejection is a 4xx with its stable code', async () => {
  const draft = await createSurvey(h, sampleSurvey(), false);
  const open = await createSurvey(h);
  const finished = await createSurvey(h);
  const noRegions = await createSurvey(h, sampleSurvey({ regions: undefined }));
  assert.equal((await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${finished.id}/finish` })).statusCode, 200);
  const [q1, q2] = open.questions;
  const ok = { answers: { [q2!.id]: [q2!.options[0]!.id] } };
  const cases: [string, Promise<{ statusCode: number; json(): { code: string } }>, number, string][] = [
    ['unknown survey', vote(h, '999999999999', 'v1', ok), 404, 'TALLY_ERR_SURVEY_NOT_FOUND'],
    ['draft survey', vote(h, draft.id, 'v1', { answers: { [draft.questions[1]!.id]: [draft.questions[1]!.options[0]!.id] } }), 409, 'TALLY_ERR_SURVEY_NOT_PUBLISHED'],
    ['finished survey', vote(h, finished.id, 'v1', { answers: { [finished.questions[1]!.id]: [finished.questions[1]!.options[0]!.id] } }), 409, 'TALLY_ERR_SURVEY_FINISHED'],
    ['option of another question', vote(h, open.id, 'v1', { answers: { [q2!.id]: [q1!.options[0]!.id] } }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['unknown question', vote(h, open.id, 'v1', { answers: { '999999999': [q1!.options[0]!.id] } }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['undeclared region', vote(h, open.id, 'v1', { ...ok, region: 'Atlantis' }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['region __proto__, not declared', vote(h, open.id, 'v1', { ...ok, region: '__proto__' }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['a region where the survey declares none', vote(h, noRegions.id, 'v1', { answers: { [noRegions.questions[1]!.id]: [noRegions.questions[1]!.options[0]!.id] }, region: 'EU' }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['undeclared region, answers API', h.app.inject({ method: 'POST', url: `/v1/surveys/${open.id}/answers`, payload: { question: q2!.id, option: q2!.options[0]!.id, region: 'Atlantis' }, headers: { authorization: `Bearer ${signToken(h.config.secrets.voter, { sub: 'v1', scope: 'vote', exp: Math.floor(Date.now() / 1000) + 60 })}` } }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['more than max options', vote(h, open.id, 'v1', { answers: { [q2!.id]: [q2!.options[0]!.id, q2!.options[1]!.id] } }), 422, 'TALLY_ERR_INVALID_ANSWER'],
    ['repeated option', vote(h, open.id, 'v1', { answers: { [q1!.id]: [q1!.options[0]!.id, q1!.options[0]!.id] } }), 400, 'TALLY_ERR_VALIDATION'],
    ['unknown field', vote(h, open.id, 'v1', { ...ok, voterId: 'mallory' }), 400, 'TALLY_ERR_VALIDATION'],
    ['wrong type', vote(h, open.id, 'v1', { answers: { [q2!.id]: q2!.options[0]!.id } }), 400, 'TALLY_ERR_VALIDATION'],
    ['no answers', vote(h, open.id, 'v1', { answers: {} }), 400, 'TALLY_ERR_VALIDATION'],
    ['no token', h.app.inject({ method: 'POST', url: `/v1/surveys/${open.id}/votes`, payload: ok }), 401, 'TALLY_ERR_UNAUTHORIZED'],
    ['admin token', h.admin({ method: 'POST', url: `/v1/surveys/${open.id}/votes`, payload: ok }), 403, 'TALLY_ERR_FORBIDDEN'],
    ['expired voter token', h.app.inject({ method: 'POST', url: `/v1/surveys/${open.id}/votes`, payload: ok, headers: { authorization: `Bearer ${signToken(h.config.secrets.voter, { sub: 'late', scope: 'vote', exp: Math.floor(Date.now() / 1000) - 10 })}` } }), 401, 'TALLY_ERR_UNAUTHORIZED'],
  ];
  for (const [name, response, status, code] of cases) {
    const r = await response;
    assert.equal(r.statusCode, status, `${name}: ${JSON.stringify(r.json())}`);
    assert.equal(r.json().code, code, name);
  }
  // None of the rejected votes claimed anything: v1 can still vote.
  assert.equal((await vote(h, open.id, 'v1', ok)).statusCode, 202);
  const duplicate = await vote(h, open.id, 'v1', ok);
  assert.equal(duplicate.statusCode, 409);
  assert.equal(duplicate.json().code, 'TALLY_ERR_DUPLICATE_VOTE');
  // A ballot with one new question is accepted; the repeated one is reported (the aggregator keeps the first).
  const partial = await vote(h, open.id, 'v1', { answers: { ...ok.answers, [q1!.id]: [q1!.options[1]!.id] } });
  assert.equal(partial.statusCode, 202, partial.body);
  assert.deepEqual(partial.json().alreadyAnswered, [q2!.id]);
});

test('a hot survey with shards: 4 spreads its votes over 4 keys, one voter always on the same key', async () => {
  const survey = await createSurvey(h, sampleSurvey({ shards: 4 }));
  const q = survey.questions[1]!;
  const voters = Array.from({ length: 40 }, (_, i) => `hot-voter-${i}`);
  const responses = await Promise.all(voters.map((v) => vote(h, survey.id, v, { answers: { [q.id]: [q.options[0]!.id] } })));
  const keys = new Set<string>();
  for (let i = 0; i < voters.length; i += 1) {
    assert.equal(responses[i]!.statusCode, 202, responses[i]!.body);
    const key = partitionKeyFor(survey.id, voterPseudonym(h.config.secrets.voterHmac, voters[i]!), 4);
    keys.add(key);
    assert.equal(responses[i]!.json().partition, partitionOfKey(key, h.config.kafka.partitions), `voter ${voters[i]} on the partition of ${key}`);
  }
  assert.deepEqual([...keys].sort(), [0, 1, 2, 3].map((shard) => `${survey.id}#${shard}`));
  // The same voter again (other question, so not a duplicate) lands on the same key.
  const again = await vote(h, survey.id, voters[0]!, { answers: { [survey.questions[0]!.id]: [survey.questions[0]!.options[0]!.id] } });
  assert.equal(again.statusCode, 202);
  assert.equal(again.json().partition, responses[0]!.json().partition);
  const records = await consumeVotes(h.config, await topicRecordCount(h.config));
  const byVoter = new Map<string, Set<string>>();
  for (const r of records.filter((r) => r.vote.surveyId === survey.id)) {
    byVoter.set(r.vote.voterId, (byVoter.get(r.vote.voterId) ?? new Set()).add(r.key));
    assert.equal(r.key, partitionKeyFor(survey.id, r.vote.voterId, 4));
  }
  assert.equal(byVoter.size, voters.length);
  for (const keysOfVoter of byVoter.values()) assert.equal(keysOfVoter.size, 1);
});

test('the one-answer-per-request form maps onto the same events and one-vote rules', async () => {
  const survey = await createSurvey(h);
  const [q1, q2] = survey.questions;
  const token = { authorization: `Bearer ${h.voterToken('frank')}` };
  const first = await h.app.inject({ method: 'POST', url: `/v1/surveys/${survey.id}/answers`, headers: token, payload: { question: q1!.id, option: q1!.options[1]!.id, text: '' } });
  assert.equal(first.statusCode, 202, first.body);
  const { surveyAnswer, questionAnswer } = first.json();
  assert.equal(surveyAnswer.survey, survey.id);
  assert.equal(surveyAnswer.finished, null);
  assert.equal(questionAnswer.surveyAnswer, surveyAnswer.id);
  assert.equal(questionAnswer.question, q1!.id);

  const second = await h.app.inject({
    method: 'POST',
    url: `/v1/surveys/${survey.id}/answers`,
    headers: token,
    payload: { surveyAnswerId: surveyAnswer.id, question: q2!.id, option: q2!.options[0]!.id },
  });
  assert.equal(second.statusCode, 202, second.body);
  assert.equal(second.json().surveyAnswer, surveyAnswer.id);
  // Same question again: duplicate, like a second vote.
  const repeat = await h.app.inject({
    method: 'POST',
    url: `/v1/surveys/${survey.id}/answers`,
    headers: token,
    payload: { surveyAnswerId: surveyAnswer.id, question: q2!.id, option: q2!.options[1]!.id },
  });
  assert.equal(repeat.statusCode, 409);
  assert.equal(repeat.json().code, 'TALLY_ERR_DUPLICATE_VOTE');
  // Someone else's session id is not found.
  const stranger = await h.app.inject({
    method: 'POST',
    url: `/v1/surveys/${survey.id}/answers`,
    headers: { authorization: `Bearer ${h.voterToken('grace')}` },
    payload: { surveyAnswerId: surveyAnswer.id, question: q2!.id, option: q2!.options[0]!.id },
  });
  assert.equal(stranger.statusCode, 404);
  assert.equal(stranger.json().code, 'TALLY_ERR_ANSWER_SESSION');

  const finish = await h.app.inject({ method: 'PUT', url: `/v1/surveys/${survey.id}/answers/${surveyAnswer.id}/finish`, headers: token });
  assert.equal(finish.statusCode, 200);
  assert.ok(finish.json().finished);
  const late = await h.app.inject({
    method: 'POST',
    url: `/v1/surveys/${survey.id}/answers`,
    headers: token,
    payload: { surveyAnswerId: surveyAnswer.id, question: q1!.id, option: q1!.options[0]!.id },
  });
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().code, 'TALLY_ERR_ANSWER_SESSION_FINISHED');

  const records = (await consumeVotes(h.config, await topicRecordCount(h.config))).filter((r) => r.vote.surveyId === survey.id);
  assert.equal(records.length, 2);
  const byId = new Map(records.map((r) => [r.vote.voteId, r]));
  assert.deepEqual({ ...byId.get(questionAnswer.id)!.vote.answers }, { [q1!.id]: [q1!.options[1]!.id] });
  assert.deepEqual({ ...byId.get(second.json().id)!.vote.answers }, { [q2!.id]: [q2!.options[0]!.id] });
});

test('when Kafka cannot take the record: 503 OUTCOME_UNKNOWN with Retry-After, the voter is never told he voted already, and the same ballot settles it', async () => {
  const survey = await createSurvey(h);
  const q = survey.questions[1]!;
  const payload = { answers: { [q.id]: [q.options[0]!.id] } };
  // A real broker-side failure: the topic disappears (auto-creation is off in the stack).
  const admin = (await import('../../src/kafka.js')).createKafka(h.config, 'test-delete', h.deps.logger).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [h.config.kafka.votesTopic] });
  // The producer's retries are bounded: the answer comes (a deadline, not a speed: bench/ measures).
  const failed = await within(vote(h, survey.id, 'henry', payload), { timeoutMs: 30_000, what: 'the 503 once the bounded send retries are spent' });
  assert.equal(failed.statusCode, 503, failed.body);
  // The send went out and failed: ingest cannot know whether the broker appended it.
  assert.equal(failed.json().code, 'TALLY_ERR_VOTE_OUTCOME_UNKNOWN');
  assert.ok(Number(failed.headers['retry-after']) >= 1);
  // While the producer reconnects (it re-creates the topic on start-up), votes are refused fast or accepted;
  // henry re-sends the same ballot and is never told he voted already.
  let accepted: { voteId: string } | undefined;
  try {
    await waitFor(
      async (seen) => {
        const retry = await vote(h, survey.id, 'henry', payload);
        assert.notEqual(retry.statusCode, 409, `henry was told he voted already: ${retry.body}`);
        seen(`${retry.statusCode} ${retry.body}`);
        if (retry.statusCode === 202) accepted = retry.json();
        return accepted !== undefined;
      },
      { timeoutMs: 30_000, what: 'ingest to accept henry\'s re-sent ballot once the topic is back', intervalMs: 200 },
    );
  } finally {
    await admin.disconnect();
  }
  assert.equal(accepted!.voteId, failed.json().voteId, 'the re-sent ballot settles the earlier vote');
});
