// The cache of verified voter tokens (auth.ts): a hit returns the same voter until the token's exp
// (checked on every hit, to the millisecond), the least recently used entry goes first when full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VerifiedVoters } from '../../src/ingest/auth.js';
import { pseudonymizer, voterPseudonym } from '../../src/ingest/voter-pseudonym.js';

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

test('bounded: tokens used recently stay, the least recently used go first', () => {
  const cache = new VerifiedVoters(4, () => 0);
  for (const token of ['a', 'b', 'c', 'd']) cache.set(token, { pseudonym: token }, 100);
  assert.ok(cache.get('a'), 'a used again');
  cache.set('e', { pseudonym: 'e' }, 100);
  cache.set('f', { pseudonym: 'f' }, 100);
  assert.ok(cache.size <= 4);
  assert.equal(cache.get('b'), null);
  assert.equal(cache.get('c'), null);
  for (const token of ['a', 'e', 'f']) assert.ok(cache.get(token), token);
});

test('the pseudonym of a cached voter is the HMAC of the token subject', () => {
  const id = pseudonymizer('a-secret-of-sixteen-chars');
  assert.equal(id('alice'), voterPseudonym('a-secret-of-sixteen-chars', 'alice'));
  assert.match(id('alice'), /^[0-9a-f]{64}$/);
});
