// Unit: merging partials into a snapshot, and the SSE frame it is serialized to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterResults } from '../../src/broadcast/results-filter.js';
import { resultsCsv } from '../../src/broadcast/results-csv.js';
import { buildSnapshot } from '../../src/broadcast/snapshot.js';
import { snapshotFrame } from '../../src/broadcast/sse-frame.js';
import type { SurveyMetadata } from '../../src/broadcast/survey-metadata.js';
import { parseSseBlock } from './support/sse-client.js';
import { partial } from './support/survey-fixtures.js';

const metadata: SurveyMetadata = {
  id: '7',
  title: 'Line one\nline two',
  status: 'published',
  questions: [{ id: '1', title: 'Q', order: 0, options: [{ id: '2', text: 'Two', image: null, order: 0 }, { id: '10', text: 'Ten', image: null, order: 1 }] }],
};

test('votes for ids the survey does not list are kept (text null), after the listed ones', () => {
  const snapshot = buildSnapshot(metadata, [partial('7', 0, 5, { votes: { '1': { '2': 1, '99': 4, '100': 2 }, '5': { '6': 3 } } })], 1000);
  assert.deepEqual(snapshot.questions.map((q) => [q.id, q.title, q.options.map((o) => [o.id, o.text, o.votes])]), [
    ['1', 'Q', [['2', 'Two', 1], ['10', 'Ten', 0], ['99', null, 4], ['100', null, 2]]],
    ['5', null, [['6', null, 3]]],
  ]);
});

test('no partial yet: zero counts, snapshot id 0, no lastCastAt', () => {
  const snapshot = buildSnapshot(metadata, [], 1000);
  assert.equal(snapshot.totalResponses, 0);
  assert.equal(snapshot.snapshotId, '0');
  assert.equal(snapshot.lastCastAt, null);
  assert.deepEqual(snapshot.watermark, {});
});

test('the snapshot id is the exact sum of int64 offsets', () => {
  const snapshot = buildSnapshot(metadata, [partial('7', 0, 0, { nextOffset: '9007199254740993' }), partial('7', 1, 0, { nextOffset: '9007199254740993' })], 1000);
  assert.equal(snapshot.snapshotId, '18014398509481986');
});

test('a frame is one SSE event whose data is the snapshot JSON, even with newlines in titles', () => {
  const frame = snapshotFrame(buildSnapshot(metadata, [partial('7', 3, 42)], 1000));
  const text = frame.bytes.toString('utf8');
  assert.ok(text.endsWith('\n\n') && text.indexOf('\n\n') === text.length - 2, 'exactly one event');
  const event = parseSseBlock(text.slice(0, -2), 0);
  assert.equal(event.id, '42');
  assert.equal(event.event, 'snapshot');
  assert.equal(event.data, frame.json);
  assert.equal(JSON.parse(event.data!).survey.title, 'Line one\nline two');
});

test('ids named like Object.prototype members merge as ordinary ids (partials arrive as JSON)', () => {
  const fromJson = (p: ReturnType<typeof partial>) => JSON.parse(JSON.stringify(p)) as ReturnType<typeof partial>;
  const votes = { '1': { __proto__: 2, constructor: 1 } as Record<string, number> };
  Object.defineProperty(votes['1'], '__proto__', { value: 2, enumerable: true, writable: true, configurable: true });
  const regions = { constructor: { responses: 3, votes } };
  const snapshot = buildSnapshot(metadata, [fromJson(partial('7', 0, 5, { votes, regions })), fromJson(partial('7', 1, 5, { votes, regions }))], 1000);
  const unlisted = snapshot.questions[0]!.options.filter((o) => o.text === null).map((o) => [o.id, o.votes]).sort();
  assert.deepEqual(unlisted, [['__proto__', 4], ['constructor', 2]]);
  const region = Object.getOwnPropertyDescriptor(snapshot.regions, 'constructor')!.value as { totalResponses: number };
  assert.equal(region.totalResponses, 6);
});

test('a region named __proto__ is an ordinary region: question/option filters and CSV still answer', () => {
  // As the aggregator writes it and Redis returns it: JSON with an own "__proto__" key.
  const fromJson = JSON.parse(
    JSON.stringify(partial('7', 0, 5, { responses: 4, votes: { '1': { '2': 4 } }, regions: { EU: { responses: 1, votes: { '1': { '2': 1 } } } } })).replace('"EU"', '"__proto__"'),
  ) as ReturnType<typeof partial>;
  const snapshot = buildSnapshot(metadata, [fromJson], 1000);
  assert.deepEqual(Object.keys(snapshot.regions), ['__proto__']);
  assert.equal(Object.getPrototypeOf(snapshot.regions), Object.prototype);
  assert.match(JSON.stringify(snapshot), /"regions":\{"__proto__":\{"totalResponses":1/);
  const byQuestion = filterResults(snapshot, { questionIds: ['1'] });
  assert.equal(JSON.stringify(byQuestion.regions), '{"__proto__":{"totalResponses":1,"votes":{"1":{"2":1}}}}');
  const byOption = filterResults(snapshot, { optionIds: ['2'] });
  assert.equal(byOption.questions[0]!.options[0]!.votes, 4);
  const inRegion = filterResults(snapshot, { region: '__proto__', optionIds: ['2'] });
  assert.equal(inRegion.totalResponses, 1);
  assert.match(resultsCsv(byOption), /\r\n7,1,Q,2,Two,__proto__,1\r\n/);
});
