// One /readyz for a cluster (src/role-cluster.ts): ready only when every expected process answered
// ready; a check is down when it is down in any process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeReadiness } from '../src/role-cluster.js';

test('ready only when every expected process answered ready', () => {
  const up = { status: 'ready' as const, checks: { kafka: 'up' as const, redis: 'up' as const } };
  assert.equal(mergeReadiness([{ ...up, pid: 1 }, { ...up, pid: 2 }], 2).status, 'ready');
  const missing = mergeReadiness([{ ...up, pid: 1 }], 2);
  assert.equal(missing.status, 'unready');
  assert.deepEqual(missing.processes, { expected: 2, answered: 1, ready: [1] });
  const down = mergeReadiness([{ ...up, pid: 1 }, { status: 'unready', checks: { kafka: 'down', redis: 'up' }, pid: 2 }], 2);
  assert.equal(down.status, 'unready');
  assert.deepEqual(down.checks, { kafka: 'down', redis: 'up' });
});
