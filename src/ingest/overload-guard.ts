// Under overload (event-loop lag above the limit), ingest routes answer 503 TALLY_ERR_OVERLOADED
// with Retry-After at once instead of queueing more work; /healthz, /readyz and /metrics keep
// answering so operators can see why.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { TallyError } from '../errors.js';

export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 500;
const OPS_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export async function registerOverloadGuard(app: FastifyInstance, maxEventLoopDelayMs: number): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    exposeStatusRoute: false,
    pressureHandler: (request, _reply, type, value) => {
      if (OPS_ROUTES.has(request.routeOptions.url ?? '')) return undefined;
      // under-pressure reports Infinity when a sample window holds no lag measurement at all (its
      // timer ran before the lag monitor's after one stall, common on a CPU-starved host): unknown,
      // not overloaded. A loop that stays slow shows real values in the next window.
      if (value === Infinity) return undefined;
      return Promise.reject(new TallyError('TALLY_ERR_OVERLOADED', `${type} ${Math.round(value ?? 0)}`, { retryAfterSeconds: 1 }));
    },
  });
}
