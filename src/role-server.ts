// The HTTP surface every role shares: /healthz (alive), /readyz (connected to what it needs),
// /metrics (Prometheus), and one error handler that turns every failure into
// `{ code, message }` with the catalogue's status. Roles add their own routes to the returned app.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { TallyError, errorCatalogue } from './errors.js';
import type { Logger } from './logger.js';

/** A named readiness check: resolves true when the dependency answers. */
export type ReadinessCheck = () => Promise<boolean>;

/** The /readyz body: each check up or down; in a cluster, which processes answered ready. */
export interface ReadinessReport {
  status: 'ready' | 'unready';
  checks: Record<string, 'up' | 'down'>;
  pid?: number;
  processes?: { expected: number; answered: number; ready: number[] };
}

export type ReadinessProbe = () => Promise<ReadinessReport>;

export interface RoleServerOptions {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  bodyLimit?: number;
  fastify?: Partial<FastifyServerOptions>;
  /** In a cluster worker: what /metrics answers (the cluster-wide sum, see role-cluster.ts). */
  metricsView?: (local: Registry) => Registry;
  /** In a cluster worker: what /readyz answers (every process's checks, see role-cluster.ts). */
  readinessView?: (local: ReadinessProbe) => ReadinessProbe;
}

const READINESS_TIMEOUT_MS = 1500;

async function checkWithTimeout(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check().catch(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), READINESS_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Maps any error thrown in a route to the catalogue's status and body. */
export function toTallyError(error: unknown): TallyError {
  if (error instanceof TallyError) return error;
  const e = error as { code?: string; statusCode?: number; validation?: unknown; message?: string };
  if (e.validation) return new TallyError('TALLY_ERR_VALIDATION', e.message);
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new TallyError('TALLY_ERR_BODY_TOO_LARGE');
  if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new TallyError('TALLY_ERR_BAD_JSON', e.message);
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new TallyError('TALLY_ERR_VALIDATION', e.message);
  if (e.statusCode === 429) return new TallyError('TALLY_ERR_RATE_LIMITED');
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new TallyError('TALLY_ERR_VALIDATION', e.message);
  return new TallyError('TALLY_ERR_INTERNAL', undefined, { cause: error });
}

export function createRoleServer(options: RoleServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Per-request log lines would cost more than the vote itself on the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ...options.fastify,
  });

  app.setErrorHandler((error, request, reply) => {
    const tallyError = toTallyError(error);
    if (tallyError.status >= 500) request.log.error({ err: error, code: tallyError.code }, 'request failed');
    if (tallyError.retryAfterSeconds !== undefined) reply.header('Retry-After', String(tallyError.retryAfterSeconds));
    else if (tallyError.status === 503) reply.header('Retry-After', '1');
    void reply.status(tallyError.status).send(tallyError.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 'TALLY_ERR_NOT_FOUND', message: `${errorCatalogue.TALLY_ERR_NOT_FOUND.message}: ${request.method} ${request.url}` });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  const localReadiness: ReadinessProbe = async () => {
    const names = Object.keys(options.readiness);
    const results = await Promise.all(names.map((name) => checkWithTimeout(options.readiness[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i] ? 'up' : 'down'] as const));
    return { status: results.every(Boolean) ? 'ready' : 'unready', checks };
  };
  const readiness = options.readinessView ? options.readinessView(localReadiness) : localReadiness;
  app.get('/readyz', async (_request, reply) => {
    const report = await readiness();
    return reply.status(report.status === 'ready' ? 200 : 503).send(report);
  });

  const metrics = options.metricsView ? options.metricsView(options.metrics) : options.metrics;
  app.get('/metrics', async (_request, reply) => {
    reply.header('Content-Type', metrics.contentType);
    return metrics.metrics();
  });

  return app;
}
