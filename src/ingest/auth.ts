// Bearer-token checks as onRequest hooks, so an unauthenticated request is refused before its body
// is read. Tokens are verified with @fastify/jwt, one namespace per signing secret (tokens.ts says
// why there are two); trying the other kind's secret is what turns a valid token of the wrong
// kind into 403 instead of 401.
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { TallyConfig } from '../config.js';
import { TallyError } from '../errors.js';
import { ADMIN_SCOPE, VOTE_SCOPE, type TokenClaims } from './tokens.js';
import { voterPseudonym } from './voter-pseudonym.js';

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
}

type Kind = 'admin' | 'voter';
interface Verifier {
  verify(token: string): TokenClaims;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const SCOPE: Record<Kind, string> = { admin: ADMIN_SCOPE, voter: VOTE_SCOPE };

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header === undefined ? null : BEARER.exec(header);
  if (match === null) throw new TallyError('TALLY_ERR_UNAUTHORIZED', header === undefined ? 'no Authorization header' : 'expected "Bearer <jwt>"');
  return match[1]!;
}

export async function registerAuth(app: FastifyInstance, config: TallyConfig): Promise<AuthHooks> {
  const verify = { algorithms: ['HS256' as const], requiredClaims: ['sub', 'scope', 'exp'], cache: 10_000 };
  await app.register(fastifyJwt, { secret: config.secrets.admin, namespace: 'admin', verify });
  await app.register(fastifyJwt, { secret: config.secrets.voter, namespace: 'voter', verify });
  const verifiers = app.jwt as unknown as Record<Kind, Verifier>;
  app.decorateRequest('voter', null);

  /** The claims if `token` is a valid token of `kind`, else null. */
  const claimsAs = (kind: Kind, token: string): TokenClaims | null => {
    try {
      const claims = verifiers[kind].verify(token);
      return claims.scope === SCOPE[kind] && typeof claims.sub === 'string' && claims.sub.length > 0 ? claims : null;
    } catch {
      return null;
    }
  };

  const refuse = (other: Kind, token: string, needed: string): never => {
    if (claimsAs(other, token) !== null) throw new TallyError('TALLY_ERR_FORBIDDEN', `this route needs scope ${needed}, the token has scope ${SCOPE[other]}`);
    throw new TallyError('TALLY_ERR_UNAUTHORIZED', 'token is invalid or expired');
  };

  return {
    requireAdmin: async (request) => {
      const token = bearerToken(request);
      if (claimsAs('admin', token) === null) refuse('voter', token, ADMIN_SCOPE);
    },
    requireVoter: async (request) => {
      const token = bearerToken(request);
      const claims = claimsAs('voter', token);
      if (claims === null) return refuse('admin', token, VOTE_SCOPE);
      request.voter = { pseudonym: voterPseudonym(config.secrets.voterHmac, claims.sub) };
    },
  };
}
