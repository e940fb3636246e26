// The cache of verified voter tokens (auth.ts): a hit returns the same voter until the token's exp
// (checked on every hit, to the millisecond), the least recently used entry goes first when full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VerifiedVoters } from '../../src/ingest/auth.js';

test('a cached token is valid exactly until its exp', () => {
  let now = 1_700_000_000_000;
  const cache = new VerifiedVoters(10, () => now);
  const voter = { pseudonym: 'p1' };
  cache.set('token-1', voter, 1_700_000_010); // exp in seconds
  assert.equal(cache.get('token-1'), voter);
  now = 1_700_000_009_999;
  assert.equal(cache.get('token-1'), voter);
  now = 1_700_000_010_000;
  assert.equal(cache.get('token-1'), null, 'expired at exp: verified again (and refused) by the caller');
  assert.equal(cache.get('token-1'), null, 'and forgotten');
});

test('bounded: the least recently used token is dropped first', () => {
  const cache = new VerifiedVoters(2, () => 0);
  cache.set('a', { pseudonym: 'a' }, 100);
  cache.set('b', { pseudonym: 'b' }, 100);
  assert.ok(cache.get('a'));
  cache.set('c', { pseudonym: 'c' }, 100);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b'), null);
  assert.ok(cache.get('a'));
  assert.ok(cache.get('c'));
});
