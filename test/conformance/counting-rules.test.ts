// One table (counting-table.ts), two implementations of docs/counting-rules.md: the aggregator's
// path (record reader, counting core, persistence, checkpoints; on an in-memory store) and the
// verifier's own recount (src/verify/partition-recount.ts). Both must give every record the
// table's outcome and agree on everything else at every offset: tallies, regions, minute buckets,
// chain heads, digests, and the partials the aggregator publishes as the verifier compares them.
// The aggregator runs each sequence in three batchings (one batch, one record per batch with a
// checkpoint after every record, batches of three), since one batch may hold a voter twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { talliesDigest } from '../../src/partition-tally.js';
import { VoteDecoder, voteSchemaJson } from '../../src/vote-codec.js';
import { PartitionRecount } from '../../src/verify/partition-recount.js';
import { liveDifferences, snapshotOf, type SurveySnapshot } from '../../src/verify/live-comparison.js';
import { ProcessorDriver } from '../aggregate/support/processor-driver.js';
import { SCHEMA_ID, SEQUENCES, type Outcome, type Sequence } from './counting-table.js';

/** What one implementation says about a sequence. */
interface Answers {
  outcomes: Outcome[];
  /** After each record (index = offset). */
  heads: string[];
  digests: string[];
  /** surveyId → { responses, votes, regions } via plain(), at the end. */
  tallies: Map<string, unknown>;
  /** surveyId → [minute, count] sorted, at the end. */
  minutes: Map<string, Array<[number, number]>>;
  counts: { accepted: number; duplicate: number; invalid: number };
}

/**
 * Objects as sorted [key, value] lists, recursively: both sides compare by own keys only, and ids
 * such as `__proto__` stay ordinary entries (deepStrictEqual mishandles an own `__proto__` key).
 */
const plain = (value: unknown): unknown => {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(plain);
  return Object.keys(value)
    .sort()
    .map((key) => [key, plain(Object.getOwnPropertyDescriptor(value, key)!.value)]);
};
const sortedMinutes = (minutes: Map<number, number>): Array<[number, number]> => [...minutes].sort((a, b) => a[0] - b[0]);
const keyOf = (key: string | null) => (key === null ? null : Buffer.from(key));
/** The table's buffers are shared: the packer copies them, so reuse is safe. */
const recordsOf = (sequence: Sequence) => sequence.records.map((r, offset) => ({ offset, key: keyOf(r.key), value: r.value, timestamp: r.timestamp ?? -1 }));

function verifierAnswers(sequence: Sequence): { answers: Answers; snapshots: Array<Map<string, SurveySnapshot>> } {
  const decoder = new VoteDecoder();
  decoder.addWriterSchema(SCHEMA_ID, voteSchemaJson);
  const recount = new PartitionRecount(0, decoder);
  const answers: Answers = { outcomes: [], heads: [], digests: [], tallies: new Map(), minutes: new Map(), counts: recount.outcomes };
  // snapshots[n]: every survey after applying the records below n (as a partial at nextOffset n describes)
  const snapshots: Array<Map<string, SurveySnapshot>> = [new Map()];
  sequence.records.forEach((record, offset) => {
    answers.outcomes.push(recount.apply(offset, keyOf(record.key), record.value, record.timestamp ?? -1));
    answers.heads.push(recount.chainHeadHex());
    answers.digests.push(recount.talliesDigest());
    snapshots.push(new Map([...recount.surveys].map(([id, survey]) => [id, snapshotOf(survey)])));
  });
  for (const [id, survey] of recount.surveys) {
    answers.tallies.set(id, plain({ responses: survey.responses, votes: survey.votes, regions: survey.regions }));
    answers.minutes.set(id, sortedMinutes(survey.minutes));
  }
  answers.counts = { ...recount.outcomes };
  return { answers, snapshots };
}

type Batching = 'one batch' | 'one record per batch' | 'batches of three';

async function aggregatorAnswers(sequence: Sequence, batching: Batching, snapshots: Array<Map<string, SurveySnapshot>>): Promise<Answers> {
  const records = recordsOf(sequence);
  const perRecord = batching === 'one record per batch';
  const driver = await ProcessorDriver.open({ checkpointEvery: perRecord ? 1 : 1_000_000 });
  const size = batching === 'one batch' ? records.length : perRecord ? 1 : 3;
  const outcomes: Outcome[] = [];
  const heads: string[] = [];
  const digests: string[] = [];
  for (let from = 0; from < records.length; from += size) {
    const result = await driver.send(records.slice(from, from + size));
    assert.equal(result.kind, 'written', `${batching}: batch at ${from}`);
    if (result.kind !== 'written' || !perRecord) continue;
    const { accepted, duplicate } = result.outcomes;
    outcomes.push(accepted === 1 ? 'accepted' : duplicate === 1 ? 'duplicate' : 'invalid');
    heads.push(result.checkpoint!.chainHead);
    digests.push(result.checkpoint!.talliesDigest);
  }
  const { state } = driver.processor;
  const invalid = new Set(driver.dlq.map((entry) => Number(entry.offset)));
  if (!perRecord) {
    // Per-record outcomes of a multi-record batch: invalid from the DLQ; the rest must add up.
    for (let offset = 0; offset < records.length; offset++) outcomes.push(invalid.has(offset) ? 'invalid' : sequence.records[offset]!.outcome === 'invalid' ? 'accepted' : sequence.records[offset]!.outcome);
  }
  assert.deepEqual([...invalid].sort((a, b) => a - b), outcomes.flatMap((o, offset) => (o === 'invalid' ? [offset] : [])), `${batching}: DLQ entries are exactly the invalid records`);

  // The partials as the verifier reads them: each equals the recount at its own nextOffset.
  for (const [surveyId, byPartition] of driver.publisher.partials) {
    const partial = byPartition.get(0)!;
    const recounted = snapshots[Number(partial.nextOffset)]!.get(surveyId);
    assert.ok(recounted, `${batching}: a partial for ${surveyId} the recount has no counts for`);
    assert.deepEqual(liveDifferences(recounted, partial), [], `${batching}: live partial of ${JSON.stringify(surveyId)} at ${partial.nextOffset}`);
  }

  const tallies: Answers['tallies'] = new Map();
  const minutes: Answers['minutes'] = new Map();
  for (const [id, tally] of state.surveys) {
    tallies.set(id, plain({ responses: tally.responses, votes: tally.votes, regions: tally.regions }));
    minutes.set(id, sortedMinutes(state.minutes.get(id)?.counts ?? new Map()));
  }
  const counts = driver.processor.outcomeCounts();
  if (!perRecord) {
    heads.push(...Array(records.length - 1).fill(null), state.head.toString('hex'));
    digests.push(...Array(records.length - 1).fill(null), talliesDigest([...state.surveys].map(([surveyId, tally]) => ({ surveyId, ...tally }))));
  }
  return { outcomes, heads, digests, tallies, minutes, counts };
}

for (const sequence of SEQUENCES) {
  test(`conformance: ${sequence.name}`, async () => {
    const { answers: verifier, snapshots } = verifierAnswers(sequence);
    sequence.records.forEach((record, offset) => assert.equal(verifier.outcomes[offset], record.outcome, `verifier, offset ${offset} (${record.why})`));

    for (const batching of ['one record per batch', 'one batch', 'batches of three'] as const) {
      const aggregator = await aggregatorAnswers(sequence, batching, snapshots);
      const at = (what: string) => `${batching}: ${what} (aggregator vs verifier)`;
      sequence.records.forEach((record, offset) => assert.equal(aggregator.outcomes[offset], record.outcome, `${batching}: aggregator, offset ${offset} (${record.why})`));
      assert.deepEqual(aggregator.counts, verifier.counts, at('outcome counts'));
      assert.deepEqual(aggregator.tallies, verifier.tallies, at('tallies'));
      assert.deepEqual(aggregator.minutes, verifier.minutes, at('minute buckets'));
      if (sequence.minutes) assert.deepEqual(Object.fromEntries(aggregator.minutes), sequence.minutes, at('minute buckets as the table expects'));
      sequence.records.forEach((_, offset) => {
        if (aggregator.heads[offset] !== null) assert.equal(aggregator.heads[offset], verifier.heads[offset], at(`chain head at offset ${offset}`));
        if (aggregator.digests[offset] !== null) assert.equal(aggregator.digests[offset], verifier.digests[offset], at(`tallies digest at offset ${offset}`));
      });
    }
  });
}

test('conformance: the table covers every outcome, follow-ups, regions, minutes and prototype-named ids', () => {
  const all = SEQUENCES.flatMap((s) => s.records);
  for (const outcome of ['accepted', 'duplicate', 'invalid'] as const) assert.ok(all.some((r) => r.outcome === outcome), outcome);
  assert.ok(all.filter((r) => r.outcome === 'invalid').length >= 12, 'every kind of invalid record');
  assert.ok(SEQUENCES.some((s) => /Object\.prototype/.test(s.name)));
  assert.ok(SEQUENCES.some((s) => /minute window/.test(s.name)), 'minute buckets pruned to the window');
  assert.ok(all.some((r) => r.timestamp !== undefined && r.timestamp >= 0), 'a castAt clamped to its record timestamp');
});
