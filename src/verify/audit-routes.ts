// GET /v1/audit/checkpoints (public): the stored checkpoints with their chain heads, so third
// parties can keep their own copy and compare it with later answers or with their own recount.
// Paged by id (insertion order): pass the `next` of one page as `after` to get the following one.
import type { FastifyPluginAsync } from 'fastify';
import type { TallyConfig } from '../config.js';
import type { Pool } from '../db/postgres.js';
import { TallyError } from '../errors.js';
import { listCheckpoints } from './checkpoints.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

// Query values arrive as strings and are declared as such: the ingest API, which serves this
// route, validates without type coercion (a wrong type is an error, never silently converted).
interface CheckpointsQuery {
  partition?: string;
  limit?: string;
  after?: string;
}

const int64String = { type: 'string', pattern: '^[0-9]{1,19}$' } as const;

const checkpointSchema = {
  type: 'object',
  required: ['id', 'partition', 'firstOffset', 'lastOffset', 'records', 'chainHead', 'talliesDigest', 'merkleRoot', 'createdAt'],
  properties: {
    id: int64String,
    partition: { type: 'integer' },
    firstOffset: int64String,
    lastOffset: int64String,
    records: int64String,
    chainHead: { type: 'string' },
    talliesDigest: { type: 'string' },
    merkleRoot: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'hex RFC 6962 root of the records firstOffset … lastOffset (docs/counting-rules.md); null on rows older than receipts' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const schema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      partition: { type: 'string', pattern: '^[0-9]{1,9}$' },
      limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: `1..${MAX_PAGE}, default ${DEFAULT_PAGE}` },
      after: { ...int64String, description: 'id of the last checkpoint already seen (the previous page\'s `next`)' },
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['topic', 'checkpoints', 'next'],
      properties: {
        topic: { type: 'string' },
        checkpoints: { type: 'array', items: checkpointSchema },
        next: { anyOf: [int64String, { type: 'null' }], description: 'pass as `after` for the next page; null on the last page' },
      },
    },
  },
} as const;

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', '57P03']);

export function auditRoutes(pool: Pool, config: Pick<TallyConfig, 'kafka'>): FastifyPluginAsync {
  const topic = config.kafka.votesTopic;
  return async (app) => {
    app.get<{ Querystring: CheckpointsQuery }>('/v1/audit/checkpoints', { schema }, async (request) => {
      const limit = request.query.limit === undefined ? DEFAULT_PAGE : Number(request.query.limit);
      if (limit < 1 || limit > MAX_PAGE) throw new TallyError('TALLY_ERR_VALIDATION', `limit must be between 1 and ${MAX_PAGE}`);
      const partition = request.query.partition === undefined ? undefined : Number(request.query.partition);
      let checkpoints;
      try {
        checkpoints = await listCheckpoints(pool, { topic, partition, afterId: request.query.after, limit });
      } catch (error) {
        const code = (error as { code?: string }).code;
        const timedOut = (error as Error).message?.includes('timeout exceeded when trying to connect');
        if ((code !== undefined && CONNECTION_ERRORS.has(code)) || timedOut) throw new TallyError('TALLY_ERR_UNAVAILABLE', 'checkpoint store', { cause: error });
        throw error;
      }
      const next = checkpoints.length === limit ? checkpoints[checkpoints.length - 1]!.id : null;
      return { topic, checkpoints: checkpoints.map(({ topic: _topic, ...checkpoint }) => checkpoint), next };
    });
  };
}
