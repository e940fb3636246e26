// The counting rules of docs/counting-rules.md, case by case, against hand-computed tallies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { talliesDigest } from '../../src/partition-tally.js';
import { VoteDecoder, voteSchemaJson } from '../../src/vote-codec.js';
import { PartitionRecount, type Outcome } from '../../src/verify/partition-recount.js';
import { referenceChainHeads } from './support/reference-chain.js';
import { vote, wireRecord } from './support/wire.js';

const SCHEMA_ID = 7;
const T0 = 1_700_000_000_000; // epoch minute 28_333_333
const MINUTE = Math.floor(T0 / 60_000);

function recounter(): PartitionRecount {
  const decoder = new VoteDecoder();
  decoder.addWriterSchema(SCHEMA_ID, voteSchemaJson);
  return new PartitionRecount(3, decoder);
}

/** Plain objects, so deepEqual ignores the recount's prototype-less maps. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

interface Row {
  key: string | null;
  value: Buffer | null;
  outcome: Outcome;
}

const key = (text: string) => Buffer.from(text);

// One partition's log: every rule once, with the outcome each record must have.
const rows: Row[] = [
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'A', answers: { q1: ['a'] }, region: 'EU', castAt: T0 })), outcome: 'accepted' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'B', answers: { q1: ['b'], q2: ['x', 'y'] }, castAt: T0 + 60_000 })), outcome: 'accepted' },
  // A again on q1 only: duplicate, the first answer stays.
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'A', answers: { q1: ['b'] }, castAt: T0 })), outcome: 'duplicate' },
  { key: 'S1', value: null, outcome: 'invalid' },
  { key: 'S1', value: Buffer.from('not avro at all'), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(999_999, vote({ surveyId: 'S1', voterId: 'Z', answers: { q1: ['a'] } })), outcome: 'invalid' },
  // A with a new question (q2) and a repeated one (q1): accepted, only q2 counts; A's region stays EU.
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'A', answers: { q1: ['c'], q2: ['x'] }, region: 'US', castAt: T0 + 120_000 })), outcome: 'accepted' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S2', voterId: 'C', answers: { q1: ['a'] } })), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'C', answers: { q1: ['a', 'a'] } })), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'C', answers: { q1: [] } })), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'C', answers: {} })), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: '', answers: { q1: ['a'] } })), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, { ...vote({ surveyId: 'S1', voterId: 'C', answers: { q1: ['a'] } }), voteId: '' }), outcome: 'invalid' },
  { key: null, value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'C', answers: { q1: ['a'] } })), outcome: 'invalid' },
  // Truncated Avro payload: right header, unreadable body.
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'C', answers: { q1: ['a'] } })).subarray(0, 12), outcome: 'invalid' },
  { key: 'S1', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'C', answers: { q1: ['a'] }, region: 'EU', castAt: T0 + 5_000 })), outcome: 'accepted' },
  // A hot survey's shard key: the survey part must match.
  { key: 'S1#4', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S1', voterId: 'D', answers: { constructor: ['toString'] }, region: 'constructor', castAt: T0 })), outcome: 'accepted' },
  { key: 'S3', value: wireRecord(SCHEMA_ID, vote({ surveyId: 'S3', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 })), outcome: 'accepted' },
];

function run(recount: PartitionRecount, upTo = rows.length): Outcome[] {
  return rows.slice(0, upTo).map((row, offset) => recount.apply(offset, row.key === null ? null : key(row.key), row.value));
}

test('each record gets the outcome the counting rules give it', () => {
  const recount = recounter();
  assert.deepEqual(run(recount), rows.map((row) => row.outcome));
  assert.deepEqual(recount.outcomes, { accepted: 6, duplicate: 1, invalid: 11 });
  assert.equal(recount.nextOffset, rows.length);
});

test('tallies: first answer per question counts, responses once per voter, region of the first counted vote', () => {
  const recount = recounter();
  run(recount);
  const s1 = recount.surveys.get('S1')!;
  assert.equal(s1.responses, 4); // A, B, C, D
  assert.deepEqual(plain(s1.votes), { q1: { a: 2, b: 1 }, q2: { x: 2, y: 1 }, constructor: { toString: 1 } });
  assert.deepEqual(plain(s1.regions), {
    EU: { responses: 2, votes: { q1: { a: 2 } } },
    US: { responses: 0, votes: { q2: { x: 1 } } },
    constructor: { responses: 1, votes: { constructor: { toString: 1 } } },
  });
  assert.deepEqual([...s1.minutes].sort((a, b) => a[0] - b[0]), [
    [MINUTE, 3],
    [MINUTE + 1, 1],
    [MINUTE + 2, 1],
  ]);
  assert.equal(s1.firstAcceptedOffset, 0);
  const s3 = recount.surveys.get('S3')!;
  assert.equal(s3.responses, 1, 'one-vote keys are per survey: voter A is new in S3');
  assert.equal(s3.firstAcceptedOffset, rows.length - 1);
  assert.ok(!recount.surveys.has('S2'), 'an invalid record creates no tally');
  assert.ok(recount.surveysSeen.has('S2') && recount.surveysSeen.has('S3'), 'every named survey is seen');
});

test('chain head after every record equals the reference chain, whatever the outcome', () => {
  const expected = referenceChainHeads(rows.map((row, offset) => ({ offset, value: row.value })));
  const recount = recounter();
  assert.equal(recount.chainHeadHex(), '0'.repeat(64));
  rows.forEach((row, offset) => {
    recount.apply(offset, row.key === null ? null : key(row.key), row.value);
    assert.equal(recount.chainHeadHex(), expected[offset], `h(${offset})`);
  });
});

test('the tallies digest at an offset is talliesDigest() of the hand-computed partials', () => {
  const recount = recounter();
  run(recount, 3); // offsets 0..2: A and B accepted, A duplicate
  assert.equal(
    recount.talliesDigest(),
    talliesDigest([{ surveyId: 'S1', responses: 2, votes: { q1: { a: 1, b: 1 }, q2: { x: 1, y: 1 } }, regions: { EU: { responses: 1, votes: { q1: { a: 1 } } } } }]),
  );
  const empty = recounter();
  assert.equal(empty.talliesDigest(), talliesDigest([]));
});

test('an id that merely contains another id is still a different voter', () => {
  const recount = recounter();
  const record = (surveyId: string, voterId: string, question: string) => wireRecord(SCHEMA_ID, vote({ surveyId, voterId, answers: { [question]: ['o'] } }));
  // Naive concatenation would make ("S", "1q", "x") and ("S", "1", "qx") the same key.
  assert.equal(recount.apply(0, key('S'), record('S', '1q', 'x')), 'accepted');
  assert.equal(recount.apply(1, key('S'), record('S', '1', 'qx')), 'accepted');
  assert.equal(recount.surveys.get('S')!.responses, 2);
});
