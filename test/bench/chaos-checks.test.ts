import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differences } from '../../bench/chaos/count-checks.js';
import { faultSchedule } from '../../bench/chaos/fault-actions.js';

test('chaos count check: every differing option and the responses are named, zero counts equal absent ones', () => {
  const expected = { responses: 3, votes: { q1: { a: 2, b: 1 }, q2: { c: 3 } } };
  assert.deepEqual(differences(expected, { responses: 3, votes: { q1: { a: 2, b: 1, z: 0 }, q2: { c: 3 } } }), []);
  assert.deepEqual(differences(expected, { responses: 4, votes: { q1: { a: 2, b: 2 }, q2: { c: 3 }, q3: { d: 1 } } }), [
    'responses: expected 3, shown 4',
    'question q1 option b: expected 1, shown 2',
    'question q3 option d: expected 0, shown 1',
  ]);
  assert.deepEqual(differences(expected, { responses: 3, votes: { q1: { a: 2, b: 1 } } }), ['question q2 option c: expected 3, shown 0']);
});

test('chaos schedule: every fault once, the aggregator kills spread over it, the broker only with 3 brokers', () => {
  assert.deepEqual(faultSchedule({ brokers: 3, aggregatorKills: 3 }), [
    'aggregator-kill',
    'broker-kill',
    'redis-restart',
    'aggregator-kill',
    'postgres-restart',
    'registry-stop',
    'broadcaster-kill',
    'aggregator-kill',
  ]);
  assert.deepEqual(faultSchedule({ brokers: 1, aggregatorKills: 0 }), ['redis-restart', 'postgres-restart', 'registry-stop', 'broadcaster-kill']);
  assert.equal(faultSchedule({ brokers: 1, aggregatorKills: 5 }).filter((kind) => kind === 'aggregator-kill').length, 5);
});
