// mintToken (`tally token`): HS256 JWTs with sub, scope and expiry, signed with the secret of their
// kind; tokenVerifier (auth.ts uses it on every request): accepts exactly what a JWT library
// (fast-jwt) accepts for this format, both ways, and refuses every tampered or stale token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { mintToken, tokenVerifier } from '../../src/ingest/tokens.js';
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

const secret = config.secrets.voter;
const sign = (claims: object, header = { alg: 'HS256', typ: 'JWT' }, key = secret) => {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};

test('minted tokens pass fast-jwt and tokenVerifier; fast-jwt-signed tokens pass tokenVerifier', () => {
  const minted = mintToken(config, { kind: 'voter', voterId: 'interop' }, 60);
  const library = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['sub', 'scope', 'exp'] });
  assert.equal(library(minted).sub, 'interop');
  assert.equal(tokenVerifier(secret)(minted)?.sub, 'interop');
  const signed = createSigner({ key: secret, algorithm: 'HS256' })({ sub: 'signed-by-library', scope: 'vote', exp: Math.floor(Date.now() / 1000) + 60 });
  assert.deepEqual(tokenVerifier(secret)(signed)?.sub, 'signed-by-library');
});

test('tokenVerifier refuses what a JWT verifier must refuse', () => {
  let nowMs = 1_700_000_000_000;
  const verify = tokenVerifier(secret, () => nowMs);
  const exp = 1_700_000_060;
  const good = { sub: 'v', scope: 'vote', exp };
  assert.ok(verify(sign(good)));
  const refused: [string, string][] = [
    ['another secret', sign(good, undefined, 'another-secret-of-16+')],
    ['alg none', `${sign(good, { alg: 'none', typ: 'JWT' }).split('.').slice(0, 2).join('.')}.`],
    ['alg HS512 header', sign(good, { alg: 'HS512', typ: 'JWT' })],
    ['crit header', sign(good, { alg: 'HS256', typ: 'JWT', crit: ['x'] } as never)],
    ['tampered claims', (() => { const [h, , s] = sign(good).split('.'); return `${h}.${Buffer.from(JSON.stringify({ ...good, sub: 'mallory' })).toString('base64url')}.${s}`; })()],
    ['truncated signature', sign(good).slice(0, -2)],
    ['no exp', sign({ sub: 'v', scope: 'vote' })],
    ['exp as a string', sign({ ...good, exp: String(exp) })],
    ['nbf in the future', sign({ ...good, nbf: 1_700_000_030 })],
    ['no sub', sign({ scope: 'vote', exp })],
    ['claims not an object', sign(42 as never)],
    ['four segments', `${sign(good)}.x`],
    ['two segments', sign(good).split('.').slice(0, 2).join('.')],
  ];
  for (const [name, token] of refused) assert.equal(verify(token), null, name);
  nowMs = exp * 1000;
  assert.equal(verify(sign(good)), null, 'expired exactly at exp');
});
