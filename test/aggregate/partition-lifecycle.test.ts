// The partition lifecycle: only the drawn transitions are allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IllegalTransition, PartitionLifecycle } from '../../src/aggregate/partition-lifecycle.js';

test('replay, hold for the DLQ, catch up, fail, reopen, close', () => {
  const lifecycle = new PartitionLifecycle(3);
  assert.equal(lifecycle.state, 'opening');
  lifecycle.opened(true);
  assert.equal(lifecycle.state, 'replaying');
  lifecycle.holdForDlq();
  assert.ok(lifecycle.replaying, 'holding while replaying is still replaying');
  lifecycle.committed();
  assert.equal(lifecycle.state, 'replaying');
  lifecycle.caughtUp();
  assert.equal(lifecycle.state, 'applying');
  lifecycle.holdForDlq();
  lifecycle.failed();
  assert.equal(lifecycle.state, 'failed');
  lifecycle.failed();
  assert.equal(lifecycle.state, 'failed', 'failing twice is still failed');
  lifecycle.reopening();
  lifecycle.opened(false);
  assert.equal(lifecycle.state, 'applying');
  lifecycle.close();
  assert.ok(lifecycle.closed);
  lifecycle.failed();
  assert.ok(lifecycle.closed, 'closed is final');
});

test('transitions not drawn are refused', () => {
  const lifecycle = new PartitionLifecycle(1);
  assert.throws(() => lifecycle.committed(), IllegalTransition, 'nothing held while opening');
  lifecycle.opened(false);
  assert.throws(() => lifecycle.reopening(), IllegalTransition, 'only a failed partition reopens');
  lifecycle.close();
  assert.throws(() => lifecycle.opened(false), IllegalTransition);
});
