// Assembles the ingest HTTP app from its parts without listening, so tests drive it with inject()
// and the lead can register more route plugins on it before listen() (e.g. the verify role's
// audit routes: `app.register(plugin)`; the admin check is exported as `auth.requireAdmin`).
import type { FastifyInstance } from 'fastify';
import { createRoleServer, type RoleServerOptions } from '../role-server.js';
import { AnswerSessions } from './answer-sessions.js';
import { registerAuth, type AuthHooks } from './auth.js';
import { DuplicateGuard } from './duplicate-guard.js';
import { IdempotencyStore } from './idempotency-store.js';
import type { IngestDeps } from './ingest-deps.js';
import { DEFAULT_MAX_EVENT_LOOP_DELAY_MS, registerOverloadGuard } from './overload-guard.js';
import { registerRateLimits, type RateLimitHooks } from './rate-limits.js';
import { DEFAULT_CATALOG_TTL_MS, SurveyCatalog } from './survey-catalog.js';
import { surveyRoutes } from './survey-routes.js';
import { SurveyStore } from './survey-store.js';
import { VoteCaster } from './vote-caster.js';
import { voteRoutes } from './vote-routes.js';

export interface IngestAppOptions {
  /** Redis key prefix of the rate-limit counters (tests use their own). */
  rateLimitNamespace: string;
  maxEventLoopDelayMs: number;
  catalogTtlMs: number;
  /** Cluster worker: /metrics and /readyz answer for every process (src/role-cluster.ts). */
  metricsView: RoleServerOptions['metricsView'];
  readinessView: RoleServerOptions['readinessView'];
}

export interface IngestApp {
  app: FastifyInstance;
  auth: AuthHooks;
  limits: RateLimitHooks;
}

export async function buildIngestApp(deps: IngestDeps, options: Partial<IngestAppOptions> = {}): Promise<IngestApp> {
  const { config, pool, redis, producer, encoder, metrics } = deps;
  const app = createRoleServer({
    logger: deps.logger,
    metrics: deps.registry,
    bodyLimit: config.limits.bodyBytes,
    // Unknown fields and wrong types are errors, never silently removed or coerced.
    fastify: { ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } } },
    metricsView: options.metricsView,
    readinessView: options.readinessView,
    readiness: {
      kafka: () => producer.check(),
      registry: () => encoder.check(),
      postgres: async () => (await pool.query('SELECT 1')).rowCount === 1,
      redis: async () => (await redis.ping()) === 'PONG',
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  await registerOverloadGuard(app, options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS);
  const auth = await registerAuth(app, config);
  const limits = await registerRateLimits(app, redis, config.limits, options.rateLimitNamespace ?? 'tally:ratelimit:');

  const store = new SurveyStore(pool);
  const catalog = new SurveyCatalog(store, options.catalogTtlMs ?? DEFAULT_CATALOG_TTL_MS);
  await app.register(surveyRoutes, { store, catalog, redis, requireAdmin: auth.requireAdmin, limitPerIp: limits.limitPerIp });
  await app.register(voteRoutes, {
    catalog,
    caster: new VoteCaster(new DuplicateGuard(redis), encoder, producer, deps.logger),
    idempotency: new IdempotencyStore(redis),
    sessions: new AnswerSessions(pool),
    metrics,
    requireVoter: auth.requireVoter,
    limitPerIp: limits.limitPerIp,
    limitPerVoter: limits.limitPerVoter,
  });
  return { app, auth, limits };
}
