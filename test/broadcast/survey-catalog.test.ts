// Unit: the broadcaster's survey catalog against a counting stand-in for the pool (only the two
// queries it sends are answered). Random ids must cost no query each, and every cache is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MISSING, MAX_SURVEYS, SurveyCatalog } from '../../src/broadcast/survey-catalog.js';
import { createLogger } from '../../src/logger.js';

/** Surveys 1..maxId exist and are published, except the `absent` ones (deleted or drafts). */
function countingPool(maxId: number, absent: (id: number) => boolean = () => false) {
  const counts = { maxId: 0, survey: new Map<string, number>() };
  const pool = {
    async query(sql: string, params?: string[]) {
      if (/max\(id\)/.test(sql)) {
        counts.maxId++;
        return { rows: [{ max: String(maxId) }] };
      }
      const id = params![0]!;
      counts.survey.set(id, (counts.survey.get(id) ?? 0) + 1);
      const n = Number(id);
      if (n > maxId || absent(n)) return { rows: [] };
      return { rows: [{ id, title: `S${id}`, status: 'published', question_id: null, question_title: null, question_order: null, option_id: null, option_text: null, option_image: null, option_order: null }] };
    },
  };
  return { pool: pool as never, counts, queries: () => [...counts.survey.values()].reduce((a, b) => a + b, 0) };
}

const logger = createLogger('test', { logLevel: 'silent' });

test('random ids above the highest survey id cost no survey query, and the misses stay bounded', async () => {
  const { pool, counts, queries } = countingPool(100);
  const catalog = new SurveyCatalog(pool, logger, () => {});
  for (let i = 0; i < 30_000; i++) assert.equal(await catalog.get(String(1_000_000 + i * 7919)), undefined);
  assert.equal(queries(), 0, 'no per-id query for ids no survey can have');
  assert.ok(counts.maxId <= 2, `highest id read ${counts.maxId} times`);
  assert.ok(catalog.size.missing <= MAX_MISSING);
});

test('misses below the highest id are remembered, but only a bounded number of them', async () => {
  const { pool, counts } = countingPool(1_000_000, () => true);
  const catalog = new SurveyCatalog(pool, logger, () => {});
  await catalog.get('5');
  await catalog.get('5');
  assert.equal(counts.survey.get('5'), 1, 'a repeated miss is answered from memory');
  for (let i = 0; i < MAX_MISSING * 2; i++) await catalog.get(String(10 + i));
  assert.ok(catalog.size.missing <= MAX_MISSING, `${catalog.size.missing} misses held`);
  await catalog.get('10');
  assert.equal(counts.survey.get('10'), 2, 'the oldest miss was evicted');
});

test('cached surveys are bounded: the least recently used ones are evicted', async () => {
  const { pool, counts } = countingPool(1_000_000);
  const catalog = new SurveyCatalog(pool, logger, () => {});
  assert.equal((await catalog.get('1'))?.title, 'S1');
  for (let i = 0; i < MAX_SURVEYS * 2; i++) {
    await catalog.get(String(100 + i));
    if (i % 1000 === 0) await catalog.get('1'); // in use: survives
  }
  assert.ok(catalog.size.surveys <= MAX_SURVEYS, `${catalog.size.surveys} surveys held`);
  await catalog.get('1');
  assert.equal(counts.survey.get('1'), 1, 'a survey in use stays cached');
  await catalog.get('100');
  assert.equal(counts.survey.get('100'), 2, 'an unused one was evicted');
});

test('only canonical ids name a survey: 0001 is not survey 1, and costs no query', async () => {
  const { pool, queries } = countingPool(100);
  const catalog = new SurveyCatalog(pool, logger, () => {});
  assert.equal(await catalog.get('0001'), undefined);
  assert.equal(await catalog.get('0'), undefined);
  assert.equal(queries(), 0);
  assert.equal((await catalog.get('1'))?.id, '1');
});
