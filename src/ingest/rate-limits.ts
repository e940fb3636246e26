// Rate limits per client IP (every ingest route) and per voter (vote routes), counted in Redis by
// @fastify/rate-limit's store so all ingest processes share them. Both are explicit onRequest hooks
// (not the plugin's global hook) so the IP limit runs before token checks and the voter limit right
// after them. If Redis is unreachable the limits are skipped rather than refusing every request.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import type { TallyConfig } from '../config.js';
import { TallyError } from '../errors.js';

export interface RateLimitHooks {
  limitPerIp: onRequestAsyncHookHandler;
  /** Needs request.voter: put it after requireVoter. */
  limitPerVoter: onRequestAsyncHookHandler;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

export async function registerRateLimits(app: FastifyInstance, redis: Redis, limits: TallyConfig['limits'], nameSpace: string): Promise<RateLimitHooks> {
  await app.register(rateLimit, { global: false, redis, nameSpace, skipOnError: true, timeWindow: limits.windowMs });
  const perIp = app.createRateLimit({ max: limits.perIp, timeWindow: limits.windowMs, keyGenerator: (request) => `ip:${request.ip}` });
  const perVoter = app.createRateLimit({ max: limits.perVoter, timeWindow: limits.windowMs, keyGenerator: (request) => `voter:${request.voter!.pseudonym}` });

  const enforce = async (limiter: Limiter, request: FastifyRequest, who: string) => {
    const result = await limiter(request);
    if (!result.isAllowed && result.isExceeded) {
      throw new TallyError('TALLY_ERR_RATE_LIMITED', `more than ${result.max} requests per ${limits.windowMs} ms for this ${who}`, {
        retryAfterSeconds: Math.max(1, result.ttlInSeconds),
      });
    }
  };
  return {
    limitPerIp: (request) => enforce(perIp, request, 'address'),
    limitPerVoter: (request) => enforce(perVoter, request, 'voter'),
  };
}
