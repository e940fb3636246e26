// Unit: ingest's survey catalog against an in-memory stand-in for the store, with a manual clock.
// An unchanged survey stays cached through revalidations (one versions query, no reload); a
// changed, deleted or newly created one is loaded again at the next lookup; a failed revalidation
// changes nothing, and an entry revalidated last more than ttl ago is loaded again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SurveyCatalog } from '../../src/ingest/survey-catalog.js';
import type { SurveyView } from '../../src/ingest/survey-model.js';

const TTL = 1000;

function survey(id: string, title: string): SurveyView {
  return { id, title, shards: 1, status: 'published', startDate: null, finishDate: null, regions: [], questions: [] };
}

function fakeStore() {
  const rows = new Map<string, { survey: SurveyView; version: string }>();
  const calls = { loads: 0, versions: 0 };
  let failVersions = false;
  const store = {
    async getVersioned(id: string) {
      calls.loads++;
      return rows.get(id) ?? null;
    },
    async versions(ids: string[]) {
      calls.versions++;
      if (failVersions) throw new Error('postgres unreachable');
      return new Map(ids.filter((id) => rows.has(id)).map((id) => [id, rows.get(id)!.version] as const));
    },
  };
  return {
    store,
    calls,
    write: (id: string, title: string, version: string) => rows.set(id, { survey: survey(id, title), version }),
    remove: (id: string) => rows.delete(id),
    failVersions: (fail: boolean) => (failVersions = fail),
  };
}

function catalogWith(fake: ReturnType<typeof fakeStore>) {
  const clock = { now: 0 };
  return { clock, catalog: new SurveyCatalog(fake.store, TTL, () => clock.now, false) };
}

test('an unchanged survey stays cached across revalidations: one versions query each, no reload', async () => {
  const fake = fakeStore();
  fake.write('1', 'A', 'v1');
  const { clock, catalog } = catalogWith(fake);
  assert.equal((await catalog.get('1'))!.survey.title, 'A');
  for (let t = 500; t <= 5000; t += 500) {
    clock.now = t;
    await catalog.revalidate();
    assert.equal((await catalog.get('1'))!.survey.title, 'A');
  }
  assert.equal(fake.calls.loads, 1);
  assert.equal(fake.calls.versions, 10);
});

test('a changed survey is loaded again at the first lookup after the revalidation that saw its new version', async () => {
  const fake = fakeStore();
  fake.write('1', 'A', 'v1');
  const { clock, catalog } = catalogWith(fake);
  await catalog.get('1');
  fake.write('1', 'B', 'v2');
  clock.now = 400;
  assert.equal((await catalog.get('1'))!.survey.title, 'A', 'within ttl, before a revalidation: still the cached one');
  await catalog.revalidate();
  assert.equal((await catalog.get('1'))!.survey.title, 'B');
  assert.equal(fake.calls.loads, 2);
});

test('deleted and created surveys: a cached survey that is gone becomes null, a cached miss that now exists is loaded', async () => {
  const fake = fakeStore();
  fake.write('1', 'A', 'v1');
  const { clock, catalog } = catalogWith(fake);
  await catalog.get('1');
  assert.equal(await catalog.get('2'), null);
  fake.remove('1');
  fake.write('2', 'C', 'v1');
  clock.now = 500;
  await catalog.revalidate();
  assert.equal(await catalog.get('1'), null);
  assert.equal((await catalog.get('2'))!.survey.title, 'C');
});

test('a failed revalidation keeps nothing beyond its ttl: the entry is loaded again once expired', async () => {
  const fake = fakeStore();
  fake.write('1', 'A', 'v1');
  const { clock, catalog } = catalogWith(fake);
  await catalog.get('1');
  fake.failVersions(true);
  fake.write('1', 'B', 'v2');
  clock.now = 500;
  await catalog.revalidate();
  assert.equal((await catalog.get('1'))!.survey.title, 'A');
  clock.now = TTL;
  assert.equal((await catalog.get('1'))!.survey.title, 'B', 'expired: loaded again');
  assert.equal(fake.calls.loads, 2);
});

test('an invalidated entry is not brought back by a revalidation that was already running', async () => {
  const fake = fakeStore();
  fake.write('1', 'A', 'v1');
  const { clock, catalog } = catalogWith(fake);
  await catalog.get('1');
  clock.now = 500;
  const running = catalog.revalidate();
  catalog.invalidate('1');
  fake.write('1', 'B', 'v2');
  await running;
  assert.equal((await catalog.get('1'))!.survey.title, 'B');
});
