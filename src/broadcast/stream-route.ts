// GET /v1/surveys/:id/results/stream: the SSE endpoint.
//
//   request ─ per-process / per-IP cap ──(503 TALLY_ERR_SSE_CAPACITY | 429 TALLY_ERR_SSE_PER_IP, Retry-After)
//           ─ survey known? ───────────────(404 TALLY_ERR_SURVEY_NOT_FOUND)
//           ─ handshake: 200 text/event-stream, `retry:` hint (the bytes fastify-sse-v2 sends; written
//             by hand for the socket transport, see sse-handshake.ts; by the plugin for `plugin`)
//           ─ the current snapshot at once (new clients and Last-Event-ID reconnects alike)
//           ─ every later snapshot of the survey, heartbeat comments while idle
//
// The response is written without chunked transfer encoding: the stream simply ends when the
// connection closes, which is all SSE needs, and it lets one pre-serialized Buffer per snapshot be
// written unchanged to every socket (SocketTransport).
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { BroadcastMetrics } from './broadcast-metrics.js';
import type { ConnectionLimits } from './connection-limits.js';
import type { Hub } from './hub.js';
import type { ResultsBoard } from './results-board.js';
import type { SnapshotFrame } from './sse-frame.js';
import { Subscriber } from './subscriber.js';
import { streamHead } from './sse-handshake.js';
import type { TransportKind } from './subscriber-transport.js';
import { PluginTransport } from './subscriber-transport-plugin.js';
import { BatchSocketTransport, DirectSocketTransport, SocketTransport } from './subscriber-transport-socket.js';
import { SURVEY_ID_PATTERN } from './survey-metadata.js';

export interface StreamRouteOptions {
  board: ResultsBoard;
  hub: Hub;
  limits: ConnectionLimits;
  metrics: BroadcastMetrics;
  slowClientBytes: number;
  transport: TransportKind;
}

export const surveyParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: SURVEY_ID_PATTERN } },
} as const;

export function registerStreamRoute(app: FastifyInstance, options: StreamRouteOptions): void {
  const { board, hub, limits, metrics } = options;

  app.get<{ Params: { id: string } }>('/v1/surveys/:id/results/stream', { schema: { params: surveyParamsSchema } }, async (request, reply) => {
    const surveyId = request.params.id;
    const ip = request.ip;
    const refusal = limits.admit(ip);
    if (refusal) {
      // Answered here rather than thrown: a full process is normal operation, not an error to log.
      metrics.refused.inc({ reason: refusal.reason });
      const { error } = refusal;
      return reply.status(error.status).header('Retry-After', String(error.retryAfterSeconds)).send(error.toJSON());
    }
    try {
      await limits.settled();
      const current = await board.open(surveyId);
      const socket = request.raw.socket;
      if (socket.destroyed) {
        limits.release(ip);
        return reply.hijack();
      }
      if (request.headers['last-event-id'] !== undefined) {
        request.log.debug({ surveyId, lastEventId: request.headers['last-event-id'], current: current.snapshot.snapshotId }, 'SSE reconnect');
      }
      if (options.transport === 'plugin') return subscribeThroughPlugin(reply, new Subscriber(surveyId, ip, new PluginTransport(reply), options.slowClientBytes), current, options);
      // The same bytes as the plugin's handshake, written by hand (sse-handshake.ts: why), and the
      // current snapshot with them in one syscall.
      reply.hijack();
      const head = streamHead(Date.now(), reply.getHeaders());
      const transport =
        options.transport === 'batch' ? new BatchSocketTransport(socket) : options.transport === 'direct' ? new DirectSocketTransport(socket) : new SocketTransport(socket);
      subscribeSocket(socket, new Subscriber(surveyId, ip, transport, options.slowClientBytes), head, current, options);
    } catch (error) {
      limits.release(ip);
      throw error;
    }
  });
}

/**
 * The socket path. A function of its own, so the stream's closure holds the socket and the
 * subscriber only: a closure created inside the route handler would keep the handler's whole
 * context alive (request, reply, the Fastify objects behind them) for as long as the stream lasts,
 * which at 16,000 streams per process is heap every garbage collection walks.
 */
function subscribeSocket(socket: Socket, subscriber: Subscriber, head: Buffer, current: SnapshotFrame, { hub, limits }: StreamRouteOptions): void {
  socket.once('close', () => {
    hub.leave(subscriber);
    limits.release(subscriber.ip);
  });
  socket.cork();
  socket.write(head);
  hub.join(subscriber, current);
  socket.uncork();
}

function subscribeThroughPlugin(reply: FastifyReply, subscriber: Subscriber, current: SnapshotFrame, { hub, limits }: StreamRouteOptions): void {
  reply.raw.useChunkedEncodingByDefault = false;
  reply.sse({ comment: 'tally results stream' }); // plugin handshake: hijack, headers, retry hint
  reply.raw.once('close', () => {
    hub.leave(subscriber);
    limits.release(subscriber.ip);
    reply.sseContext.source.end();
  });
  hub.join(subscriber, current);
}
