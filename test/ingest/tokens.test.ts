// mintToken (`tally token`): HS256 JWTs with sub, scope and expiry, signed with the secret of their
// kind. That fast-jwt (auth.ts) accepts them is covered by the route tests (surveys, votes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mintToken } from '../../src/ingest/tokens.js';
import { testConfig } from '../support/test-config.js';

const config = testConfig('ingest-tokens');

function parts(token: string) {
  const [header, payload, signature] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(payload!, 'base64url').toString()),
    signedWith: (secret: string) => createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url') === signature,
  };
}

test('an admin token has scope admin, expires after its ttl, and is signed with the admin secret only', () => {
  const now = Math.floor(Date.now() / 1000);
  const token = parts(mintToken(config, { kind: 'admin' }, 120));
  assert.deepEqual(token.header, { alg: 'HS256', typ: 'JWT' });
  assert.equal(token.claims.scope, 'admin');
  assert.ok(Math.abs(token.claims.exp - (now + 120)) <= 1);
  assert.ok(token.signedWith(config.secrets.admin));
  assert.ok(!token.signedWith(config.secrets.voter));
});

test('a voter token carries the voter identity as sub, scope vote, and the voter secret', () => {
  const token = parts(mintToken(config, { kind: 'voter', voterId: 'voter-42' }, 60));
  assert.equal(token.claims.sub, 'voter-42');
  assert.equal(token.claims.scope, 'vote');
  assert.ok(token.signedWith(config.secrets.voter));
  assert.ok(!token.signedWith(config.secrets.admin));
});

test('a non-positive ttl or an empty voter id is refused', () => {
  assert.throws(() => mintToken(config, { kind: 'admin' }, 0), RangeError);
  assert.throws(() => mintToken(config, { kind: 'admin' }, 1.5), RangeError);
  assert.throws(() => mintToken(config, { kind: 'voter', voterId: '' }, 60), RangeError);
});
