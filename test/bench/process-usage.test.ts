import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processTreeUsage, treeCpuDelta, type ProcessUsage } from '../../bench/lib/process-usage.js';

const usage = (entries: [number, number][]): ProcessUsage => ({
  cpuSeconds: entries.reduce((sum, [, s]) => sum + s, 0),
  rssBytes: 0,
  processes: entries.length,
  byPid: new Map(entries),
});

test('treeCpuDelta: per process; a process that left the tree counts nothing instead of making the sum negative', () => {
  const before = usage([[1, 0.5], [2, 3], [3, 4]]);
  const after = usage([[1, 0.6], [2, 5]]); // 3 left (or the read missed it)
  assert.ok(after.cpuSeconds - before.cpuSeconds < 0, 'the plain difference goes negative');
  const delta = treeCpuDelta(before, after);
  assert.ok(Math.abs(delta.cpuSeconds - 2.1) < 1e-9, String(delta.cpuSeconds));
  assert.equal(delta.vanished, 1);
});

test('treeCpuDelta: a process that joined the tree counts whole', () => {
  const delta = treeCpuDelta(usage([[1, 1]]), usage([[1, 2], [4, 0.25]]));
  assert.equal(delta.cpuSeconds, 1.25);
  assert.equal(delta.vanished, 0);
});

test('processTreeUsage of this process lists its pid', () => {
  const own = processTreeUsage(process.pid);
  assert.ok(own.processes >= 1);
  assert.ok(own.byPid?.has(process.pid));
});
