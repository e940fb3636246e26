// Bearer tokens: HS256 JWTs, one signing secret per kind (TALLY_ADMIN_SECRET for admins,
// TALLY_VOTER_SECRET for voters). Two secrets rather than one key with scopes, so a leaked voter
// secret can never mint an admin token. The `scope` claim still names the kind, and the server
// verifies a token against both secrets to tell "a voter token on an admin route" (403) from
// "no valid token" (401) — see auth.ts.
//
// Minting is here (synchronous, no Fastify needed: `tally token` calls it); verification goes
// through fast-jwt in auth.ts, so the tests of auth also check this signer against the library.
import { createHmac } from 'node:crypto';
import type { TallyConfig } from '../config.js';

export type TokenSubject = { kind: 'admin' } | { kind: 'voter'; voterId: string };

export const ADMIN_SCOPE = 'admin';
export const VOTE_SCOPE = 'vote';
export const ADMIN_SUBJECT = 'admin';

export interface TokenClaims {
  sub: string;
  scope: typeof ADMIN_SCOPE | typeof VOTE_SCOPE;
  iat: number;
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export function secretFor(config: Pick<TallyConfig, 'secrets'>, kind: TokenSubject['kind']): string {
  return kind === 'admin' ? config.secrets.admin : config.secrets.voter;
}

/** Signs a token for `subject` that expires after `ttlSeconds`. */
export function mintToken(config: Pick<TallyConfig, 'secrets'>, subject: TokenSubject, ttlSeconds: number): string {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  if (subject.kind === 'voter' && subject.voterId.length === 0) throw new RangeError('voterId must not be empty');
  const now = Math.floor(Date.now() / 1000);
  const claims: TokenClaims =
    subject.kind === 'admin'
      ? { sub: ADMIN_SUBJECT, scope: ADMIN_SCOPE, iat: now, exp: now + ttlSeconds }
      : { sub: subject.voterId, scope: VOTE_SCOPE, iat: now, exp: now + ttlSeconds };
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = createHmac('sha256', secretFor(config, subject.kind)).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
