// The generator's expected counts are checked against an independent, straightforward recount of
// the records it produced (decode, structural rules, one-vote keys), as docs/counting-rules.md says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { VoteDecoder, voteSchemaJson, type VoteCast } from '../../src/vote-codec.js';
import { surveyIdOfKey } from '../../src/partition-key.js';
import { VoteGenerator, INVALID_KINDS, type GeneratorOptions } from '../../bench/aggregate/vote-generator.js';
import type { SurveyCounts } from '../../bench/aggregate/expected-tally.js';
import { diffTallies, sumPartials, formatDifferences } from '../../bench/aggregate/tally-diff.js';

const SCHEMA_ID = 7;
const type = avro.Type.forSchema(JSON.parse(voteSchemaJson));
const encoder = {
  schemaId: SCHEMA_ID,
  encode(vote: VoteCast): Buffer {
    const payload = type.toBuffer(vote);
    const out = Buffer.alloc(5 + payload.length);
    out.writeUInt32BE(SCHEMA_ID, 1);
    payload.copy(out, 5);
    return out;
  },
};

const options: GeneratorOptions = {
  runTag: 'unit',
  surveys: 20,
  zipfExponent: 1.1,
  questions: 3,
  options: 4,
  duplicateRatio: 0.2,
  invalidRatio: 0.05,
  followUpRatio: 0.1,
  hotShards: 4,
  regions: ['EU', 'NA', 'APAC'],
  seed: 1,
};

/** The counting rules, written plainly: a recount of records in order. */
function recount(records: { key: string; value: Buffer | null }[]) {
  const decoder = new VoteDecoder();
  decoder.addWriterSchema(SCHEMA_ID, voteSchemaJson);
  const seenAnswer = new Set<string>();
  const seenVoter = new Set<string>();
  const surveys = new Map<string, SurveyCounts>();
  const outcomes = { accepted: 0, duplicate: 0, invalid: 0 };
  for (const { key, value } of records) {
    let vote: VoteCast;
    try {
      if (value === null) throw new Error('null');
      vote = decoder.decode(value);
    } catch {
      outcomes.invalid += 1;
      continue;
    }
    const questions = Object.keys(vote.answers);
    const structurallyValid =
      vote.voteId !== '' && vote.surveyId !== '' && vote.voterId !== '' && surveyIdOfKey(key) === vote.surveyId && questions.length > 0 &&
      questions.every((q) => vote.answers[q]!.length > 0 && new Set(vote.answers[q]).size === vote.answers[q]!.length);
    if (!structurallyValid) {
      outcomes.invalid += 1;
      continue;
    }
    const fresh = questions.filter((q) => !seenAnswer.has(`${vote.surveyId}\0${q}\0${vote.voterId}`));
    if (fresh.length === 0) {
      outcomes.duplicate += 1;
      continue;
    }
    outcomes.accepted += 1;
    let counts = surveys.get(vote.surveyId);
    if (!counts) surveys.set(vote.surveyId, (counts = { responses: 0, votes: {}, regions: {} }));
    for (const q of fresh) {
      seenAnswer.add(`${vote.surveyId}\0${q}\0${vote.voterId}`);
      for (const o of vote.answers[q]!) {
        (counts.votes[q] ??= {})[o] = (counts.votes[q]![o] ?? 0) + 1;
        if (vote.region !== null) {
          const region = (counts.regions[vote.region] ??= { responses: 0, votes: {} });
          (region.votes[q] ??= {})[o] = (region.votes[q]![o] ?? 0) + 1;
        }
      }
    }
    const voterKey = `${vote.surveyId}\0${vote.voterId}`;
    if (!seenVoter.has(voterKey)) {
      seenVoter.add(voterKey);
      counts.responses += 1;
      if (vote.region !== null) counts.regions[vote.region]!.responses += 1;
    }
  }
  return { surveys, outcomes };
}

test('vote generator: expected counts equal an independent recount of its records', () => {
  const generator = new VoteGenerator(options, encoder);
  const records = Array.from({ length: 30_000 }, () => generator.next());
  const { surveys, outcomes } = recount(records);
  const differences = diffTallies(generator.expected.surveys, surveys);
  assert.equal(differences.length, 0, formatDifferences(differences));
  assert.deepEqual(outcomes, generator.expected.outcomes);
  // The mix is what was asked for (within sampling noise).
  assert.ok(Math.abs(outcomes.invalid / records.length - options.invalidRatio) < 0.01);
  assert.ok(outcomes.duplicate / records.length > 0.15, `duplicates: ${outcomes.duplicate}`);
  for (const kind of INVALID_KINDS) assert.ok(generator.invalidByKind[kind] > 0, `invalid kind ${kind} generated`);
});

test('vote generator: the order of a voter\'s records does not change the final counts', () => {
  const generator = new VoteGenerator({ ...options, seed: 2 }, encoder);
  const records = Array.from({ length: 5_000 }, () => generator.next());
  const reversed = recount([...records].reverse());
  assert.deepEqual(diffTallies(generator.expected.surveys, reversed.surveys), []);
});

test('vote generator: the hot survey is sharded, others keyed by survey id', () => {
  const generator = new VoteGenerator(options, encoder);
  const keys = new Set<string>();
  for (let i = 0; i < 5_000; i++) keys.add(generator.next().key);
  const hot = [...keys].filter((key) => key.startsWith(`${generator.surveyIds[0]}#`));
  assert.equal(new Set(hot).size, options.hotShards);
  assert.ok(keys.has(generator.surveyIds[1]!));
});

test('tally diff: sums partials and lists the first differing counts', () => {
  const partials: Parameters<typeof sumPartials>[0] & object[] = [
    { responses: 2, votes: { q0: { o0: 2 } }, regions: { EU: { responses: 1, votes: { q0: { o0: 1 } } } } },
    { responses: 1, votes: { q0: { o1: 1 } }, regions: {} },
  ];
  const actual = new Map([['s', sumPartials(partials)]]);
  const expected = new Map<string, SurveyCounts>([['s', { responses: 3, votes: { q0: { o0: 2, o1: 2 } }, regions: { EU: { responses: 1, votes: { q0: { o0: 1 } } } } }]]);
  const differences = diffTallies(expected, actual);
  assert.deepEqual(differences, [{ surveyId: 's', path: 'votes.q0.o1', expected: 2, actual: 1 }]);
  assert.match(formatDifferences(differences), /survey s votes.q0.o1: expected 2, actual 1 \(-1\)/);
  assert.deepEqual(diffTallies(new Map(), new Map([['t', sumPartials([{ responses: 0, votes: { q: { o: 0 } }, regions: {} }])]])), []);
});
