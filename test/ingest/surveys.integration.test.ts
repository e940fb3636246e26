// Integration: Kafka, registry, PostgreSQL, Redis
// Survey management through the HTTP API on the real PostgreSQL: create, PUT update semantics,
// publish/finish/delete lifecycle, public read, results from the live partials in Redis, and the
// admin-token checks (401/403).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { surveyHashKey, type SurveyPartial } from '../../src/partition-tally.js';
import { createSurvey, sampleSurvey, signToken, startHarness, type Harness } from './support/ingest-harness.js';

let h: Harness;

before(async () => {
  // Management needs no Kafka: prove it works without waiting for it.
  h = await startHarness('ingest-surveys', { connected: false });
});

after(async () => {
  await h.close();
});

test('create returns the survey with ids for every question and option, as a draft', async () => {
  const response = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: sampleSurvey() });
  assert.equal(response.statusCode, 201, response.body);
  const survey = response.json();
  assert.match(survey.id, /^[1-9][0-9]*$/);
  assert.equal(survey.title, 'Elections Survey');
  assert.equal(survey.status, 'draft');
  assert.equal(survey.shards, 1);
  assert.equal(survey.startDate, null);
  assert.equal(survey.finishDate, null);
  assert.equal(survey.questions.length, 2);
  assert.deepEqual(
    survey.questions.map((q: { title: string; min: number; max: number; order: number }) => [q.title, q.min, q.max, q.order]),
    [
      ['Who would you vote for president?', 1, 2, 0],
      ['Who would you vote for minister?', 1, 1, 1],
    ],
  );
  assert.deepEqual(survey.questions[0].options[0], { id: survey.questions[0].options[0].id, text: 'Homer Simpson', image: 'https://example.com/homer.jpg', order: 0 });
  assert.equal(survey.questions[1].options[0].image, null);
  const get = await h.admin({ method: 'GET', url: `/v1/internal/surveys/${survey.id}` });
  assert.deepEqual(get.json(), survey);
});

test('PUT keeps items with an id, creates items without one, and removes omitted ones', async () => {
  const survey = await createSurvey(h, sampleSurvey(), false);
  const [q1, q2] = survey.questions as unknown as { id: string; options: { id: string }[] }[];
  const update = {
    title: 'Elections Survey For President',
    questions: [
      {
        id: q1!.id,
        title: 'Who would you vote for president?',
        min: 1,
        max: 2,
        order: 0,
        options: [
          { id: q1!.options[0]!.id, text: 'Homer J. Simpson', image: 'https://example.com/homer.jpg', order: 0 },
          { id: q1!.options[1]!.id, text: 'Ned Flanders', order: 1 },
          { text: 'Lisa Simpson', order: 2 },
        ],
      },
      { title: 'Who would you vote for mayor?', min: 1, max: 1, order: 1, options: [{ text: 'Joe Quimby', order: 0 }, { text: 'Krusty', order: 1 }] },
    ],
  };
  const response = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}`, payload: update });
  assert.equal(response.statusCode, 200, response.body);
  const updated = response.json();
  assert.equal(updated.title, 'Elections Survey For President');
  assert.equal(updated.questions.length, 2);
  const [u1, u2] = updated.questions;
  assert.equal(u1.id, q1!.id, 'question with id kept');
  assert.deepEqual(u1.options.map((o: { id: string }) => o.id).slice(0, 2), [q1!.options[0]!.id, q1!.options[1]!.id], 'options with id kept');
  assert.equal(u1.options[0].text, 'Homer J. Simpson', 'option updated');
  assert.equal(u1.options.length, 3);
  assert.ok(!u1.options.some((o: { id: string }) => o.id === q1!.options[2]!.id), 'omitted option removed');
  assert.ok(![q1!.id, q2!.id].includes(u2.id), 'question without id created');
  assert.equal(u2.title, 'Who would you vote for mayor?');
  assert.equal(u2.options.length, 2);
  // q2 was omitted: removed with its options.
  const again = await h.admin({ method: 'GET', url: `/v1/internal/surveys/${survey.id}` });
  assert.ok(!again.json().questions.some((q: { id: string }) => q.id === q2!.id));

  // Title only: questions untouched.
  const titleOnly = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}`, payload: { title: 'Renamed' } });
  assert.equal(titleOnly.statusCode, 200);
  assert.deepEqual(titleOnly.json().questions, updated.questions);

  // Ids of another survey or question are refused, and nothing changes.
  const other = await createSurvey(h, sampleSurvey(), false);
  const foreign = await h.admin({
    method: 'PUT',
    url: `/v1/internal/surveys/${survey.id}`,
    payload: { questions: [{ id: other.questions[0]!.id, title: 'stolen', options: [{ text: 'x' }] }] },
  });
  assert.equal(foreign.statusCode, 400);
  assert.equal(foreign.json().code, 'TALLY_ERR_VALIDATION');
  const foreignOption = await h.admin({
    method: 'PUT',
    url: `/v1/internal/surveys/${survey.id}`,
    payload: { questions: [{ id: u1.id, title: 't', options: [{ id: u2.options[0].id, text: 'moved' }] }] },
  });
  assert.equal(foreignOption.statusCode, 400);
  assert.deepEqual((await h.admin({ method: 'GET', url: `/v1/internal/surveys/${survey.id}` })).json().questions, updated.questions);

  const badRange = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}`, payload: { questions: [{ title: 't', min: 3, max: 2, options: [{ text: 'a' }] }] } });
  assert.equal(badRange.statusCode, 400);
  assert.equal(badRange.json().code, 'TALLY_ERR_VALIDATION');
});

test('publish sets startDate, finish sets finishDate, edits need a draft, delete answers 204', async () => {
  const survey = await createSurvey(h, sampleSurvey(), false);
  assert.equal((await h.app.inject({ method: 'GET', url: `/v1/surveys/${survey.id}` })).statusCode, 404, 'drafts are not public');
  const finishDraft = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}/finish` });
  assert.equal(finishDraft.statusCode, 409);
  assert.equal(finishDraft.json().code, 'TALLY_ERR_SURVEY_STATE');

  const published = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}/publish` });
  assert.equal(published.statusCode, 200);
  const p = published.json();
  assert.deepEqual(Object.keys(p).sort(), ['finishDate', 'id', 'startDate', 'status', 'title']);
  assert.equal(p.status, 'published');
  assert.ok(Math.abs(Date.parse(p.startDate) - Date.now()) < 60_000);
  assert.equal(p.finishDate, null);
  assert.equal((await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}/publish` })).statusCode, 409);
  const edit = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}`, payload: { title: 'too late' } });
  assert.equal(edit.statusCode, 409);
  assert.equal(edit.json().code, 'TALLY_ERR_SURVEY_STATE');

  const publicView = await h.app.inject({ method: 'GET', url: `/v1/surveys/${survey.id}` });
  assert.equal(publicView.statusCode, 200);
  assert.equal(publicView.json().id, survey.id);
  assert.equal(publicView.json().questions.length, 2);
  assert.equal(publicView.json().shards, undefined);

  const finished = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}/finish` });
  assert.equal(finished.statusCode, 200);
  assert.equal(finished.json().status, 'finished');
  assert.equal(finished.json().startDate, p.startDate);
  assert.ok(Date.parse(finished.json().finishDate) >= Date.parse(p.startDate));
  assert.equal((await h.app.inject({ method: 'GET', url: `/v1/surveys/${survey.id}` })).json().status, 'finished', 'the cache saw the change');

  const deleted = await h.admin({ method: 'DELETE', url: `/v1/internal/surveys/${survey.id}` });
  assert.equal(deleted.statusCode, 204);
  assert.equal(deleted.body, '');
  for (const request of [
    { method: 'GET' as const, url: `/v1/surveys/${survey.id}` },
    { method: 'GET' as const, url: `/v1/internal/surveys/${survey.id}` },
    { method: 'DELETE' as const, url: `/v1/internal/surveys/${survey.id}` },
    { method: 'PUT' as const, url: `/v1/internal/surveys/${survey.id}/publish` },
  ]) {
    const r = await h.admin(request);
    assert.equal(r.statusCode, 404, `${request.method} ${request.url}`);
    assert.equal(r.json().code, 'TALLY_ERR_SURVEY_NOT_FOUND');
  }
  const empty = await createSurvey(h, { title: 'empty', questions: [] }, false);
  const publishEmpty = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${empty.id}/publish` });
  assert.equal(publishEmpty.statusCode, 409);
});

test('results sum the live partial tallies of every partition, merged with the survey', async () => {
  const survey = await createSurvey(h);
  const [q1, q2] = survey.questions;
  const partial = (partition: number, responses: number, votes: SurveyPartial['votes']): SurveyPartial => ({
    surveyId: survey.id,
    partition,
    nextOffset: '10',
    responses,
    votes,
    regions: {},
    minutes: {},
    lastCastAt: Date.now(),
    writtenAt: Date.now(),
  });
  const key = surveyHashKey(survey.id);
  await h.deps.redis.hset(key, {
    '0': JSON.stringify(partial(0, 100, { [q1!.id]: { [q1!.options[0]!.id]: 60, [q1!.options[1]!.id]: 50 }, [q2!.id]: { [q2!.options[0]!.id]: 100 } })),
    '3': JSON.stringify(partial(3, 50, { [q1!.id]: { [q1!.options[0]!.id]: 25 }, [q2!.id]: { [q2!.options[1]!.id]: 50 }, '999': { '998': 7 } })),
  });
  try {
    const response = await h.admin({ method: 'GET', url: `/v1/internal/surveys/${survey.id}/results` });
    assert.equal(response.statusCode, 200, response.body);
    const results = response.json();
    assert.deepEqual(results.survey, { id: survey.id, title: 'Elections Survey' });
    assert.equal(results.totalResponses, 150);
    const votes = results.questions.map((q: { options: { votes: number }[] }) => q.options.map((o) => o.votes));
    assert.deepEqual(votes, [
      [85, 50, 0],
      [100, 50],
    ]);
    assert.deepEqual(Object.keys(results.questions[0].options[0]).sort(), ['id', 'image', 'order', 'text', 'votes']);
    // A survey nobody voted on yet: zeros.
    const fresh = await createSurvey(h);
    const zero = (await h.admin({ method: 'GET', url: `/v1/internal/surveys/${fresh.id}/results` })).json();
    assert.equal(zero.totalResponses, 0);
    assert.ok(zero.questions.every((q: { options: { votes: number }[] }) => q.options.every((o) => o.votes === 0)));
  } finally {
    await h.deps.redis.del(key);
  }
});

test('admin endpoints: 401 without a valid admin token, 403 with a voter token', async () => {
  const survey = await createSurvey(h, sampleSurvey(), false);
  const routes = [
    { method: 'POST' as const, url: '/v1/internal/surveys', payload: sampleSurvey() },
    { method: 'PUT' as const, url: `/v1/internal/surveys/${survey.id}`, payload: { title: 'x' } },
    { method: 'PUT' as const, url: `/v1/internal/surveys/${survey.id}/publish` },
    { method: 'PUT' as const, url: `/v1/internal/surveys/${survey.id}/finish` },
    { method: 'DELETE' as const, url: `/v1/internal/surveys/${survey.id}` },
    { method: 'GET' as const, url: `/v1/internal/surveys/${survey.id}/results` },
  ];
  const now = Math.floor(Date.now() / 1000);
  const unauthorized = {
    'no header': undefined,
    'not bearer': `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    'garbage token': 'Bearer abc.def.ghi',
    'expired admin token': `Bearer ${signToken(h.config.secrets.admin, { sub: 'admin', scope: 'admin', exp: now - 5 })}`,
    'signed with another secret': `Bearer ${signToken('some-other-secret-of-16+', { sub: 'admin', scope: 'admin', exp: now + 60 })}`,
    'admin secret, vote scope': `Bearer ${signToken(h.config.secrets.admin, { sub: 'admin', scope: 'vote', exp: now + 60 })}`,
    'no expiry': `Bearer ${signToken(h.config.secrets.admin, { sub: 'admin', scope: 'admin' })}`,
  };
  for (const route of routes) {
    for (const [name, authorization] of Object.entries(unauthorized)) {
      const r = await h.app.inject({ ...route, headers: authorization === undefined ? {} : { authorization } });
      assert.equal(r.statusCode, 401, `${name}: ${route.method} ${route.url}`);
      assert.equal(r.json().code, 'TALLY_ERR_UNAUTHORIZED');
    }
    const r = await h.app.inject({ ...route, headers: { authorization: `Bearer ${h.voterToken('mallory')}` } });
    assert.equal(r.statusCode, 403, `voter token: ${route.method} ${route.url}`);
    assert.equal(r.json().code, 'TALLY_ERR_FORBIDDEN');
  }
  // The survey is untouched.
  const check = await h.admin({ method: 'GET', url: `/v1/internal/surveys/${survey.id}` });
  assert.equal(check.json().status, 'draft');
  assert.equal(check.json().title, 'Elections Survey');
});

test('regions are declared per survey: returned, editable while a draft, capped and validated', async () => {
  const created = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: sampleSurvey({ regions: ['EU', 'US', '__proto__'] }) });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(created.json().regions, ['EU', 'US', '__proto__']);
  const edited = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${created.json().id}`, payload: { regions: ['APAC'] } });
  assert.deepEqual(edited.json().regions, ['APAC']);
  const none = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: sampleSurvey({ regions: undefined }) });
  assert.deepEqual(none.json().regions, []);
  for (const regions of [Array.from({ length: 101 }, (_, i) => `r${i}`), ['EU', 'EU'], ['no spaces'], ['x'.repeat(65)], ['']]) {
    const refused = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: sampleSurvey({ regions }) });
    assert.equal(refused.statusCode, 400, JSON.stringify(regions).slice(0, 60));
    assert.equal(refused.json().code, 'TALLY_ERR_VALIDATION');
  }
});
