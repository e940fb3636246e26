// Assembles the ingest HTTP app from its parts without listening, so tests drive it with inject()
// and the lead can register more route plugins on it before listen() (e.g. the verify role's
// audit routes: `app.register(plugin)`; the admin check is exported as `auth.requireAdmin`).
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { createRoleServer, type RoleServerOptions } from '../role-server.js';
import { AnswerSessions } from './answer-sessions.js';
import { registerAuth, type AuthHooks } from './auth.js';
import type { IngestDeps } from './ingest-deps.js';
import { IpRateLimit } from './ip-rate-limit.js';
import { DEFAULT_MAX_EVENT_LOOP_DELAY_MS, registerOverloadGuard } from './overload-guard.js';
import { DEFAULT_CATALOG_TTL_MS, SurveyCatalog } from './survey-catalog.js';
import { surveyRoutes } from './survey-routes.js';
import { SurveyStore } from './survey-store.js';
import { VoteCaster } from './vote-caster.js';
import { VoteClaims } from './vote-claims.js';
import { voteRoutes } from './vote-routes.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface IngestAppOptions {
  /** Redis key prefix of the per-voter rate counters (tests use their own). */
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
  limitPerIp: IpRateLimit;
  claims: VoteClaims;
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
    openapi: {
      title: 'tally ingest API',
      version: PACKAGE_VERSION,
      description: 'Survey management and vote submission. Every error is `{ code, message }` (components.schemas.Error; codes in the README).',
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: '`tally token --admin`' },
        voterToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: '`tally token --voter <id>`' },
      },
    },
    readiness: {
      kafka: () => producer.check(),
      registry: () => encoder.check(),
      postgres: async () => (await pool.query('SELECT 1')).rowCount === 1,
      redis: async () => (await redis.ping()) === 'PONG',
    },
  });

  // One counter child per (route, status), looked up without building a label object per request.
  const requestCounters = new Map<string, Map<number, { inc(): void }>>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    let byStatus = requestCounters.get(route);
    if (byStatus === undefined) requestCounters.set(route, (byStatus = new Map()));
    let counter = byStatus.get(reply.statusCode);
    if (counter === undefined) byStatus.set(reply.statusCode, (counter = metrics.requests.labels(route, String(reply.statusCode))));
    counter.inc();
    done();
  });

  await registerOverloadGuard(app, options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS);
  const auth = await registerAuth(app, config);
  const limitPerIp = new IpRateLimit(config.limits.perIp, config.limits.windowMs);
  const claims = new VoteClaims(redis, { max: config.limits.perVoter, windowMs: config.limits.windowMs, keyPrefix: options.rateLimitNamespace ?? 'tally:rl:' });

  const store = new SurveyStore(pool);
  const catalog = new SurveyCatalog(store, options.catalogTtlMs ?? DEFAULT_CATALOG_TTL_MS);
  await app.register(surveyRoutes, { store, catalog, redis, requireAdmin: auth.requireAdmin, limitPerIp: limitPerIp.hook() });
  await app.register(voteRoutes, {
    topic: config.kafka.votesTopic,
    catalog,
    caster: new VoteCaster(claims, encoder, producer, deps.logger),
    claims,
    sessions: new AnswerSessions(pool),
    metrics,
    voterOf: auth.voterOf,
    limitPerIp,
  });
  return { app, auth, limitPerIp, claims };
}
