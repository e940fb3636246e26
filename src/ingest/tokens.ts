// Bearer tokens: HS256 JWTs, one signing secret per kind (TALLY_ADMIN_SECRET for admins,
// TALLY_VOTER_SECRET for voters). Two secrets rather than one key with scopes, so a leaked voter
// secret can never mint an admin token. The `scope` claim still names the kind, and the server
// verifies a token against both secrets to tell "a voter token on an admin route" (403) from
// "no valid token" (401) — see auth.ts.
//
// Minting and verifying are both here, for exactly this format: header {"alg":"HS256","typ":"JWT"},
// claims sub, scope, exp (and iat; nbf honoured if present). Verification is on every vote, so it is
// done directly with node:crypto: fast-jwt took 11 µs per new token in the ingest profile under
// load (a key conversion per createHmac, a generic decode) against 3 µs here; the HMAC itself is two
// one-shot hashes (hmac-sha256.ts). test/ingest/tokens checks both directions against fast-jwt, so
// the format stays the library's.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TallyConfig } from '../config.js';
import { hmacSha256 } from './hmac-sha256.js';

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

/**
 * A verifier for tokens signed with `secret`: the claims when the token is an HS256 JWT with a valid
 * signature, a string `sub` and `scope`, a numeric `exp` in the future (and `nbf`, if present, not in
 * the future), else null. `token` is three base64url segments (the caller's Bearer pattern).
 */
export function tokenVerifier(secret: string, now: () => number = Date.now): (token: string) => TokenClaims | null {
  const hmac = hmacSha256(secret);
  /** Header segments already checked (every token of one signer has the same one). */
  const headers = new Map<string, boolean>();
  const headerOk = (segment: string): boolean => {
    let ok = headers.get(segment);
    if (ok === undefined) {
      try {
        const header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as { alg?: unknown; typ?: unknown; crit?: unknown };
        ok = header.alg === 'HS256' && (header.typ === undefined || header.typ === 'JWT') && header.crit === undefined;
      } catch {
        ok = false;
      }
      if (headers.size < 16) headers.set(segment, ok);
    }
    return ok;
  };
  return (token) => {
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) return null;
    if (!headerOk(token.slice(0, dot1))) return null;
    const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
    const expected = hmac.digest(token.slice(0, dot2));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return null;
    let claims: Partial<TokenClaims> & { nbf?: unknown };
    try {
      claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return null;
    }
    if (claims === null || typeof claims !== 'object') return null;
    const nowMs = now();
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return null;
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf * 1000 > nowMs)) return null;
    if (typeof claims.sub !== 'string' || typeof claims.scope !== 'string') return null;
    return claims as TokenClaims;
  };
}
