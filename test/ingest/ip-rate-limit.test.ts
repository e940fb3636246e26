// The per-IP token bucket (in process): a full allowance at first, refilled continuously, one
// address never affects another, Retry-After is the wait for the next token, memory is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpRateLimit } from '../../src/ingest/ip-rate-limit.js';

test('an address spends its allowance, then waits for the refill; others are not affected', () => {
  let now = 1_000_000;
  const limit = new IpRateLimit(10, 60_000, () => now);
  for (let i = 0; i < 10; i++) assert.equal(limit.take('10.0.0.1'), 0, `request ${i + 1}`);
  const wait = limit.take('10.0.0.1');
  assert.equal(wait, 6, 'one token every 6 s at 10 per minute');
  assert.equal(limit.take('10.0.0.2'), 0);
  now += 6_000;
  assert.equal(limit.take('10.0.0.1'), 0, 'refilled after the wait');
  assert.ok(limit.take('10.0.0.1') > 0);
  now += 10 * 60_000;
  for (let i = 0; i < 10; i++) assert.equal(limit.take('10.0.0.1'), 0, 'never more than the full allowance after a long pause');
  assert.ok(limit.take('10.0.0.1') > 0);
});
