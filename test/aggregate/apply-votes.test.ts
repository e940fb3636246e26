// The counting core on its own: applyVote over a plain in-memory state, no store, no decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VoteCast } from '../../src/vote-codec.js';
import { applyVote, applyVotes } from '../../src/aggregate/apply-votes.js';
import { MemoryCountingState } from '../../src/aggregate/memory-counting-state.js';

const T0 = 1_700_000_000_000;
const vote = (voterId: string, answers: Record<string, string[]>, region: string | null = null, castAt = T0): VoteCast => ({ voteId: `${voterId}-${castAt}`, surveyId: 'S', voterId, answers, region, castAt });

test('first answer per question counts; a response per voter; the first counted vote picks the region', () => {
  const state = new MemoryCountingState();
  assert.equal(applyVote(state, vote('A', { q1: ['a', 'b'] }, 'EU')), 'accepted');
  assert.equal(applyVote(state, vote('A', { q1: ['c'] }, 'US')), 'duplicate');
  assert.equal(applyVote(state, vote('A', { q1: ['c'], q2: ['x'] }, 'US', T0 + 60_000)), 'accepted');
  assert.equal(applyVote(state, vote('B', { q2: ['x'] })), 'accepted');
  assert.deepEqual(state.surveys.get('S'), {
    responses: 2,
    votes: { q1: { a: 1, b: 1 }, q2: { x: 2 } },
    regions: { EU: { responses: 1, votes: { q1: { a: 1, b: 1 } } }, US: { responses: 0, votes: { q2: { x: 1 } } } },
    lastCastAt: T0 + 60_000,
  });
  assert.deepEqual(state.answeredQuestions('S', 'A'), ['q1', 'q2']);
  assert.deepEqual([...state.minutes.get('S')!.counts], [[28_333_333, 2], [28_333_334, 1]], 'accepted records only, by event-time minute');
});

test('a duplicate changes nothing, and the state arrays are never changed in place', () => {
  const state = new MemoryCountingState();
  applyVote(state, vote('A', { q1: ['a'] }));
  const before = state.answeredQuestions('S', 'A');
  const snapshot = JSON.stringify([...state.surveys]);
  assert.deepEqual(applyVotes(state, [vote('A', { q1: ['b'] }), vote('A', { q1: ['c'] })]), { accepted: 0, duplicate: 2 });
  assert.equal(JSON.stringify([...state.surveys]), snapshot);
  applyVote(state, vote('A', { q2: ['b'] }));
  assert.deepEqual(before, ['q1'], 'the earlier list is untouched; the state got a new one');
});
