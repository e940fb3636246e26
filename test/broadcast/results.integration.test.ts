// Integration: PostgreSQL, Redis
// GET /v1/surveys/:id/results (JSON, the latest snapshot; filters; CSV export) over a
// hot survey whose votes are spread over several partitions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SurveySnapshot } from '../../src/broadcast/snapshot.js';
import { broadcastFixture } from './support/broadcast-fixture.js';
import { openSse } from './support/sse-client.js';
import { partial, publishPartial } from './support/survey-fixtures.js';

const WINDOW_MS = 100;
const fx = broadcastFixture('broadcast-results', { TALLY_WINDOW_MS: String(WINDOW_MS) });
const { redis } = fx;
let base: string;
let ids: { q1: string; q2: string; homer: string; ned: string; burns: string; bob: string };

before(async () => {
  // The partials are in Redis before the server starts: it loads them, no window involved.
  await fx.setUp('Elections, "2025"', [
    { title: 'Who would you vote for president?', options: [{ text: 'Homer Simpson', image: 'https://example.com/homer.jpg' }, 'Ned Flanders'] },
    { title: 'Who would you vote for minister?', options: ['Montgomery Burns', '=Sideshow Bob'] },
  ], { startServer: false });
  const { survey } = fx;
  const [q1, q2] = survey.questions;
  ids = { q1: q1!.id, q2: q2!.id, homer: q1!.options[0]!.id, ned: q1!.options[1]!.id, burns: q2!.options[0]!.id, bob: q2!.options[1]!.id };
  // A hot survey (shards: 3): its voters spread over partitions 1, 2 and 4.
  const { q1: Q1, q2: Q2, homer, ned, burns, bob } = ids;
  await publishPartial(redis, partial(survey.id, 1, 100, {
    responses: 50, votes: { [Q1]: { [homer]: 30, [ned]: 20 }, [Q2]: { [burns]: 25 } },
    regions: { EU: { responses: 10, votes: { [Q1]: { [homer]: 10 } } } }, minutes: { '29000000': 40, '29000001': 10 }, lastCastAt: 1_740_000_060_000,
  }));
  await publishPartial(redis, partial(survey.id, 2, 250, {
    responses: 60, votes: { [Q1]: { [homer]: 35, [ned]: 25 }, [Q2]: { [burns]: 20, [bob]: 40 } },
    regions: { EU: { responses: 5, votes: { [Q1]: { [ned]: 5 } } }, US: { responses: 20, votes: { [Q1]: { [homer]: 20 }, [Q2]: { [bob]: 20 } } } },
    minutes: { '29000001': 60 }, lastCastAt: 1_740_000_070_000,
  }));
  await publishPartial(redis, partial(survey.id, 4, 7, {
    responses: 40, votes: { [Q1]: { [homer]: 20, [ned]: 20 }, [Q2]: { [burns]: 25, [bob]: 15 } }, minutes: { '29000002': 40 }, lastCastAt: 1_740_000_050_000,
  }));
  await fx.startServer();
  base = fx.url(`/v1/surveys/${survey.id}/results`);
});

after(() => fx.tearDown());

async function getJson(query = ''): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${query}`);
  return { status: response.status, body: await response.json() };
}

test('the merged snapshot sums every partition of a hot survey and exposes the watermark', async () => {
  const { status, body } = await getJson();
  assert.equal(status, 200);
  const snapshot = body as SurveySnapshot;
  assert.deepEqual(snapshot.survey, { id: fx.survey.id, title: 'Elections, "2025"', status: 'published' });
  assert.equal(snapshot.totalResponses, 150);
  assert.deepEqual(
    snapshot.questions.map((q) => [q.id, q.order, q.options.map((o) => [o.id, o.text, o.votes])]),
    [
      [ids.q1, 0, [[ids.homer, 'Homer Simpson', 85], [ids.ned, 'Ned Flanders', 65]]],
      [ids.q2, 1, [[ids.burns, 'Montgomery Burns', 70], [ids.bob, '=Sideshow Bob', 55]]],
    ],
  );
  assert.equal(snapshot.questions[0]!.options[0]!.image, 'https://example.com/homer.jpg');
  assert.deepEqual(snapshot.regions, {
    EU: { totalResponses: 15, votes: { [ids.q1]: { [ids.homer]: 10, [ids.ned]: 5 } } },
    US: { totalResponses: 20, votes: { [ids.q1]: { [ids.homer]: 20 }, [ids.q2]: { [ids.bob]: 20 } } },
  });
  assert.deepEqual(snapshot.minutes, [{ minute: 29000000, votes: 40 }, { minute: 29000001, votes: 70 }, { minute: 29000002, votes: 40 }]);
  assert.deepEqual(snapshot.watermark, { '1': '100', '2': '250', '4': '7' });
  assert.equal(snapshot.snapshotId, '357');
  assert.equal(snapshot.lastCastAt, 1_740_000_070_000);
});

test('the JSON is the same content as the latest snapshot on the stream', async () => {
  const stream = await openSse(`${base}/stream`);
  const event = await stream.next((e) => e.event === 'snapshot');
  stream.close();
  const text = await (await fetch(base)).text();
  assert.equal(text, event.data);
});

test('filters: by region, by question, by option', async () => {
  const eu = (await getJson('?region=EU')).body as SurveySnapshot;
  assert.equal(eu.totalResponses, 15);
  assert.deepEqual(eu.questions.map((q) => q.options.map((o) => o.votes)), [[10, 5], [0, 0]]);
  assert.deepEqual(Object.keys(eu.regions), ['EU']);

  const nowhere = (await getJson('?region=Atlantis')).body as SurveySnapshot;
  assert.equal(nowhere.totalResponses, 0, 'a region without votes counts zero');
  for (const name of ['constructor', '__proto__', 'toString']) {
    const inherited = await getJson(`?region=${name}`);
    assert.equal((inherited.body as SurveySnapshot).totalResponses, 0, `region named ${name} counts zero, not an error`);
  }

  const q2 = (await getJson(`?question=${ids.q2}`)).body as SurveySnapshot;
  assert.deepEqual(q2.questions.map((q) => q.id), [ids.q2]);
  assert.deepEqual(q2.regions.US!.votes, { [ids.q2]: { [ids.bob]: 20 } });

  const options = (await getJson(`?option=${ids.ned},${ids.bob}&region=US`)).body as SurveySnapshot;
  assert.deepEqual(options.questions.map((q) => q.options.map((o) => [o.id, o.votes])), [[[ids.ned, 0]], [[ids.bob, 20]]]);

  const repeated = (await getJson(`?question=${ids.q1}&question=${ids.q2}`)).body as SurveySnapshot;
  assert.equal(repeated.questions.length, 2);

  const unknown = await getJson('?question=999999999');
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'TALLY_ERR_VALIDATION');
  assert.match(unknown.body.message, /question 999999999 is not in survey/);
  assert.equal((await getJson('?question=abc')).status, 400);
});

test('CSV export: totals and per-region rows, quoted, filterable', async () => {
  const response = await fetch(`${base}?format=csv`);
  assert.equal(response.status, 200);
  assert.match(String(response.headers.get('content-type')), /^text\/csv/);
  assert.match(String(response.headers.get('content-disposition')), new RegExp(`survey-${fx.survey.id}-results\\.csv`));
  const lines = (await response.text()).trimEnd().split('\r\n');
  assert.equal(lines[0], 'survey_id,question_id,question,option_id,option,region,votes');
  assert.equal(lines.length, 1 + 4 * 3, 'one total row and one row per region for each option');
  assert.ok(lines.includes(`${fx.survey.id},${ids.q1},Who would you vote for president?,${ids.homer},Homer Simpson,,85`));
  assert.ok(lines.includes(`${fx.survey.id},${ids.q1},Who would you vote for president?,${ids.homer},Homer Simpson,US,20`));
  assert.ok(lines.includes(`${fx.survey.id},${ids.q2},Who would you vote for minister?,${ids.bob},'=Sideshow Bob,,55`), 'formula-like cells are defused');

  const eu = (await (await fetch(`${base}?format=csv&region=EU&question=${ids.q1}`)).text()).trimEnd().split('\r\n');
  assert.deepEqual(eu.slice(1).map((line) => line.split(',').slice(-2).join(',')), ['EU,10', 'EU,5']);
});

test('an unknown survey is a 404 with a code', async () => {
  const response = await fetch(fx.url('/v1/surveys/999999999999/results'));
  assert.equal(response.status, 404);
  assert.equal(((await response.json()) as { code: string }).code, 'TALLY_ERR_SURVEY_NOT_FOUND');
});

test('a draft is hidden as ingest hides it: 404 on results, stream and dashboard data', async () => {
  const draft = await fx.addSurvey('Not yet', [{ title: 'Q', options: ['A', 'B'] }]);
  await fx.pool.query("UPDATE surveys SET status = 'draft', start_date = NULL WHERE id = $1", [draft.id]);
  for (const path of [`/v1/surveys/${draft.id}/results`, `/v1/surveys/${draft.id}/results/stream`]) {
    const response = await fetch(fx.url(path));
    assert.equal(response.status, 404, path);
    assert.equal(((await response.json()) as { code: string }).code, 'TALLY_ERR_SURVEY_NOT_FOUND');
  }
});

test('ids are canonical: /v1/surveys/0<id> is a 404, /dashboard/0<id> redirects to /dashboard/<id>', async () => {
  const id = fx.survey.id;
  for (const path of [`/v1/surveys/0${id}/results`, `/v1/surveys/00${id}/results/stream`, '/v1/surveys/0/results']) {
    const response = await fetch(fx.url(path));
    assert.equal(response.status, 404, path);
    assert.equal(((await response.json()) as { code: string }).code, 'TALLY_ERR_SURVEY_NOT_FOUND');
  }
  const redirect = await fetch(fx.url(`/dashboard/000${id}`), { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), `/dashboard/${id}`);
  assert.equal((await fetch(fx.url(`/dashboard/${id}`), { redirect: 'manual' })).status, 200);
  assert.equal((await fetch(fx.url('/dashboard/0'), { redirect: 'manual' })).status, 404);
});

test('readiness reports Redis and PostgreSQL', async () => {
  const response = await fetch(fx.url('/readyz'));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ready', checks: { redis: 'up', postgres: 'up' } });
});
