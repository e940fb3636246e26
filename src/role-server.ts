// The HTTP surface every role shares: /healthz (alive), /readyz (connected to what it needs),
// /metrics (Prometheus), and one error format: every refusal, including the ones Fastify and Node's
// HTTP parser make before any route runs, is `{ code, message }` with the catalogue's status.
// Roles add their own routes to the returned app.
//
//   socket   malformed request / header overflow / timeout ── clientErrorHandler ── 400 / 431 / 408
//   router   bad percent-encoding / parameter > 100 chars ─── frameworkErrors ──── 400 / 414
//            no route ─────────────────────────────────────── notFoundHandler ──── 404
//   onRequest  HTTP/1.1 without Host ──────────────────────────────────────────── 400
//   parse    JSON body: not UTF-8, not JSON, too large, wrong type ── errorHandler ── 400 / 413 / 415
//   validate route schema; text with NUL or a lone surrogate ─────── errorHandler ── 400
import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { TallyError, errorCatalogue } from './errors.js';
import type { Logger } from './logger.js';

/**
 * JSON-schema format of every free-text field (titles, option texts, URLs): PostgreSQL cannot store
 * U+0000, and an unpaired surrogate would silently become U+FFFD on the way out. A failure of it
 * answers TALLY_ERR_INVALID_TEXT.
 */
export const TEXT_FORMAT = 'tally-text';
const INVALID_TEXT = /\0|\p{Cs}/u;

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
  /** Serve GET /openapi.json, generated from the route schemas (@fastify/swagger). */
  openapi?: { title: string; version: string; description?: string; securitySchemes?: Record<string, unknown> };
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

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params?: { format?: string };
}

/** Fastify's own error codes → the catalogue (anything else 4xx is a bad request, 5xx internal). */
const FRAMEWORK_CODES: Record<string, ErrorCodeOf<typeof errorCatalogue>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TALLY_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TALLY_ERR_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TALLY_ERR_BAD_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TALLY_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TALLY_ERR_BAD_REQUEST',
  FST_ERR_BAD_URL: 'TALLY_ERR_BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'TALLY_ERR_PATH_TOO_LONG',
};
type ErrorCodeOf<T> = keyof T;

/** Maps any error thrown in a route to the catalogue's status and body. */
export function toTallyError(error: unknown): TallyError {
  if (error instanceof TallyError) return error;
  const e = error as { code?: string; statusCode?: number; validation?: ValidationIssue[]; validationContext?: string; message?: string };
  if (e.validation) {
    const text = e.validation.find((issue) => issue.keyword === 'format' && issue.params?.format === TEXT_FORMAT);
    if (text !== undefined) return new TallyError('TALLY_ERR_INVALID_TEXT', `${e.validationContext ?? 'body'}${text.instancePath}`);
    return new TallyError('TALLY_ERR_VALIDATION', e.message);
  }
  const code = e.code === undefined ? undefined : FRAMEWORK_CODES[e.code];
  if (code !== undefined) return new TallyError(code, e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? e.message : undefined);
  if (e.statusCode === 429) return new TallyError('TALLY_ERR_RATE_LIMITED');
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new TallyError('TALLY_ERR_BAD_REQUEST', e.message);
  return new TallyError('TALLY_ERR_INTERNAL', undefined, { cause: error });
}

/** Node's HTTP parser refused the bytes before Fastify saw a request: answer in the same format, then close. */
function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const tallyError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new TallyError('TALLY_ERR_REQUEST_TIMEOUT')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new TallyError('TALLY_ERR_HEADERS_TOO_LARGE')
        : new TallyError('TALLY_ERR_BAD_REQUEST', error.code);
  this.log.debug({ err: error }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(tallyError.toJSON());
    socket.write(`HTTP/1.1 ${tallyError.status} ${STATUS_TEXT[tallyError.status] ?? 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function createRoleServer(options: RoleServerOptions): FastifyInstance {
  const fastifyOptions = options.fastify ?? {};
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Per-request log lines would cost more than the vote itself on the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyOptions,
    ajv: {
      ...fastifyOptions.ajv,
      customOptions: {
        ...fastifyOptions.ajv?.customOptions,
        formats: { [TEXT_FORMAT]: { type: 'string', validate: (text: string) => !INVALID_TEXT.test(text) } },
      },
    } as FastifyServerOptions['ajv'],
    // A missing Host is refused below in the project's format (Node would answer 400 with no body).
    http: { requireHostHeader: false },
    clientErrorHandler,
    frameworkErrors: (error: FastifyError, _request, reply) => {
      const tallyError = toTallyError(error);
      void (reply as FastifyReply).status(tallyError.status).send(tallyError.toJSON());
    },
  });

  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers.host === undefined && request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 1) {
      done(new TallyError('TALLY_ERR_BAD_REQUEST', 'HTTP/1.1 requests need a Host header'));
      return;
    }
    done();
  });

  // JSON bodies are read as bytes so that invalid UTF-8 is refused instead of silently becoming U+FFFD.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(new TallyError('TALLY_ERR_BAD_JSON', 'the body is not valid UTF-8'), undefined);
    parseJson(request, bytes.toString('utf8'), done);
  });

  app.setErrorHandler((error, request, reply) => {
    const tallyError = toTallyError(error);
    if (tallyError.status >= 500) request.log.error({ err: error, code: tallyError.code, reqId: request.id }, 'request failed');
    if (tallyError.retryAfterSeconds !== undefined) reply.header('Retry-After', String(tallyError.retryAfterSeconds));
    else if (tallyError.status === 503) reply.header('Retry-After', '1');
    void reply.status(tallyError.status).send(tallyError.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 'TALLY_ERR_NOT_FOUND', message: `${errorCatalogue.TALLY_ERR_NOT_FOUND.message}: ${request.method} ${request.url}` });
  });

  // The OpenAPI document is built from the route schemas as routes are added, so its plugin goes
  // first and the ops routes below are added by a plugin loaded after it.
  if (options.openapi) {
    const { title, version, description, securitySchemes } = options.openapi;
    void app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title, version, description },
        components: { securitySchemes: securitySchemes as Record<string, never> | undefined, schemas: { Error: errorBodySchema as unknown as Record<string, never> } },
      },
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }

  void app.register(async (ops) => registerOpsRoutes(ops, options));
  return app;
}

/** The error body every role answers (documentation: `Error` in the OpenAPI document). */
export const errorBodySchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: Object.keys(errorCatalogue), description: 'catalogue code (README "Error codes")' },
    message: { type: 'string' },
  },
  additionalProperties: { type: 'string', description: 'extra fields of some codes, e.g. voteId' },
} as const;

const opsTags = ['operations'];

function registerOpsRoutes(app: FastifyInstance, options: RoleServerOptions): void {
  app.get('/healthz', { schema: { tags: opsTags, summary: 'alive' } }, async () => ({ status: 'ok' }));

  const localReadiness: ReadinessProbe = async () => {
    const names = Object.keys(options.readiness);
    const results = await Promise.all(names.map((name) => checkWithTimeout(options.readiness[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i] ? 'up' : 'down'] as const));
    return { status: results.every(Boolean) ? 'ready' : 'unready', checks };
  };
  const readiness = options.readinessView ? options.readinessView(localReadiness) : localReadiness;
  app.get('/readyz', { schema: { tags: opsTags, summary: 'connected to every dependency (in a cluster: every process)' } }, async (_request, reply) => {
    const report = await readiness();
    return reply.status(report.status === 'ready' ? 200 : 503).send(report);
  });

  const metrics = options.metricsView ? options.metricsView(options.metrics) : options.metrics;
  app.get('/metrics', { schema: { tags: opsTags, summary: 'Prometheus metrics (in a cluster: summed over every process)' } }, async (_request, reply) => {
    reply.header('Content-Type', metrics.contentType);
    return metrics.metrics();
  });
}
