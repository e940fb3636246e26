// Bearer-token checks as onRequest hooks, so an unauthenticated request is refused before its body
// is read. One verifier per signing secret (tokens.ts says why there are two, and why verification
// is done there rather than through a JWT library); trying the other kind's secret is what turns a
// valid token of the wrong kind into 403 instead of 401.
//
// Voter tokens are used again and again by one voter (answers API, retries, a session's pages), so
// a verified one is remembered with its pseudonym (VerifiedVoters) and skips the signature check and
// the pseudonym HMAC next time; its expiry is still checked on every request.
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { TallyConfig } from '../config.js';
import { TallyError } from '../errors.js';
import { GenerationalMap } from '../generational-map.js';
import { ADMIN_SCOPE, tokenVerifier, VOTE_SCOPE, type TokenClaims } from './tokens.js';
import { pseudonymizer } from './voter-pseudonym.js';

export interface Voter {
  /** HMAC of the token subject: the only voter identity ingest passes on. */
  readonly pseudonym: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the voter hook on vote routes. */
    voter: Voter | null;
  }
}

export interface AuthHooks {
  /** Admin routes: 401 without a valid token, 403 for a valid voter token. */
  requireAdmin: onRequestAsyncHookHandler;
  /** Vote routes: sets request.voter; 401 without a valid token, 403 for an admin token. */
  requireVoter: onRequestAsyncHookHandler;
  /** The same check, synchronous: the request's voter, or throws 401 / 403 (for a route's own hook). */
  voterOf: (request: FastifyRequest) => Voter;
}

type Kind = 'admin' | 'voter';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const SCOPE: Record<Kind, string> = { admin: ADMIN_SCOPE, voter: VOTE_SCOPE };
/** Verified voter tokens kept; the least recently used goes first. */
export const VERIFIED_VOTERS_MAX = 10_000;

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header === undefined ? null : BEARER.exec(header);
  if (match === null) throw new TallyError('TALLY_ERR_UNAUTHORIZED', header === undefined ? 'no Authorization header' : 'expected "Bearer <jwt>"');
  return match[1]!;
}

/** Verified voter tokens → voter, each valid until its token's `exp`; bounded, least recently used out first. */
export class VerifiedVoters {
  private readonly entries: GenerationalMap<string, { voter: Voter; expiresAtMs: number }>;

  constructor(
    max: number = VERIFIED_VOTERS_MAX,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new GenerationalMap(max);
  }

  get(token: string): Voter | null {
    const entry = this.entries.get(token);
    if (entry === undefined) return null;
    if (entry.expiresAtMs <= this.now()) {
      this.entries.delete(token); // expired: verify again (and refuse)
      return null;
    }
    return entry.voter;
  }

  set(token: string, voter: Voter, expSeconds: number): void {
    this.entries.set(token, { voter, expiresAtMs: expSeconds * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }
}

export async function registerAuth(app: FastifyInstance, config: TallyConfig): Promise<AuthHooks> {
  const verifiers: Record<Kind, (token: string) => TokenClaims | null> = {
    admin: tokenVerifier(config.secrets.admin),
    voter: tokenVerifier(config.secrets.voter),
  };
  const verified = new VerifiedVoters();
  const pseudonym = pseudonymizer(config.secrets.voterHmac);
  app.decorateRequest('voter', null);

  /** The claims if `token` is a valid token of `kind`, else null. */
  const claimsAs = (kind: Kind, token: string): TokenClaims | null => {
    const claims = verifiers[kind](token);
    return claims !== null && claims.scope === SCOPE[kind] && claims.sub.length > 0 ? claims : null;
  };

  const refuse = (other: Kind, token: string, needed: string): never => {
    if (claimsAs(other, token) !== null) throw new TallyError('TALLY_ERR_FORBIDDEN', `this route needs scope ${needed}, the token has scope ${SCOPE[other]}`);
    throw new TallyError('TALLY_ERR_UNAUTHORIZED', 'token is invalid or expired');
  };

  const voterOf = (request: FastifyRequest): Voter => {
    const token = bearerToken(request);
    const known = verified.get(token);
    if (known !== null) return known;
    const claims = claimsAs('voter', token);
    if (claims === null) return refuse('admin', token, VOTE_SCOPE);
    const voter = { pseudonym: pseudonym(claims.sub) };
    verified.set(token, voter, claims.exp);
    return voter;
  };

  return {
    requireAdmin: async (request) => {
      const token = bearerToken(request);
      if (claimsAs('admin', token) === null) refuse('voter', token, ADMIN_SCOPE);
    },
    requireVoter: async (request) => {
      request.voter = voterOf(request);
    },
    voterOf,
  };
}
