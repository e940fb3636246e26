// Ids come from votes, so any string must count as an ordinary id, including the names that
// plain objects inherit (a region called `constructor` once made the worker throw on every retry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countOptions, emptySurveyTally, regionOf } from '../../src/aggregate/survey-tally.js';
import { talliesDigest } from '../../src/partition-tally.js';

const TRICKY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

test('question, option and region ids named like Object.prototype members are counted as ids', () => {
  const tally = emptySurveyTally();
  for (const id of TRICKY) {
    countOptions(tally.votes, id, [id, 'a']);
    countOptions(tally.votes, id, [id]);
    const region = regionOf(tally, id);
    region.responses += 1;
    countOptions(region.votes, 'q', [id]);
  }
  const roundTrip = JSON.parse(JSON.stringify(tally)) as typeof tally;
  for (const id of TRICKY) {
    assert.deepEqual(Object.entries(roundTrip.votes[id]!).sort(), [[id, 2], ['a', 1]].sort(), `votes of ${id}`);
    assert.equal(roundTrip.regions[id]!.responses, 1, `region ${id}`);
    assert.equal(roundTrip.regions[id]!.votes.q![id], 1);
  }
  assert.equal(Object.getPrototypeOf(tally.votes), Object.prototype, 'no prototype was replaced');
  // Counting continues on a tally parsed back from JSON (as loaded from RocksDB).
  countOptions(roundTrip.votes, '__proto__', ['__proto__']);
  assert.equal(Object.getOwnPropertyDescriptor(Object.getOwnPropertyDescriptor(roundTrip.votes, '__proto__')!.value, '__proto__')!.value, 3);
});

test('the checkpoint digest sees counts under any id', () => {
  const one = emptySurveyTally();
  const two = emptySurveyTally();
  countOptions(one.votes, 'q', ['__proto__']);
  countOptions(two.votes, 'q', ['__proto__']);
  countOptions(two.votes, 'q', ['__proto__']);
  const digest = (t: typeof one) => talliesDigest([{ surveyId: 's', ...t }]);
  assert.notEqual(digest(one), digest(two));
});
