// One broadcaster process: Redis fan-in → results board → tumbling window → hub → SSE clients,
// plus the JSON/CSV results, the dashboard page, the receipt page (with the public receipt and
// checkpoint routes it fetches) and the shared /healthz, /readyz, /metrics.
//
//   tally:updates (pub/sub) ─► PartialFeed ─► ResultsBoard.markChanged
//   every windowMs ─► SnapshotWindow ─► ResultsBoard.publish (serialize once) ─► Hub.broadcast ─► sockets
import type { AddressInfo, Server } from 'node:net';
import { FastifySSEPlugin } from 'fastify-sse-v2';
import type { Registry } from 'prom-client';
import type { TallyConfig } from '../config.js';
import { createPool } from '../db/postgres.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetricsRegistry } from '../metrics.js';
import { createRoleServer } from '../role-server.js';
import type { RunningRole } from '../role.js';
import type { AcceptGate } from '../role-cluster.js';
import { createBroadcastMetrics } from './broadcast-metrics.js';
import { ConnectionLimits } from './connection-limits.js';
import { registerDashboardRoute } from './dashboard-route.js';
import { registerReceiptRoute } from './receipt-route.js';
import { Hub } from './hub.js';
import { PartialFeed } from './partial-feed.js';
import { ResultsBoard } from './results-board.js';
import { registerResultsRoute } from './results-route.js';
import { SnapshotWindow } from './snapshot-window.js';
import { batchWriteSupport } from './socket-batch-write.js';
import { directWriteSupport } from './socket-direct-write.js';
import { RETRY_MS } from './sse-frame.js';
import { registerStreamRoute } from './stream-route.js';
import type { TransportKind } from './subscriber-transport.js';
import { SurveyCatalog } from './survey-catalog.js';

/** Sockets kept beyond the SSE cap for JSON, metrics and health requests before the kernel-level refusal. */
const NON_STREAM_SOCKETS = 512;
const SWEEP_EVERY_MS = 60_000;
/**
 * Pending connections the kernel queues before this process accepts them (capped by
 * net.core.somaxconn, 4096 here). Node's default 511 overflowed when thousands of clients connected
 * at once while a fan-out held the process: dropped SYNs retry after 1 s, 3 s, 7 s.
 */
const LISTEN_BACKLOG = 4096;

export interface BroadcastServerOptions {
  /** How snapshots reach clients (default: TALLY_SSE_WRITE_PATH, subscriber-transport.ts). */
  transport?: TransportKind;
  /** In a cluster worker: what /metrics answers (the cluster-wide sum, see broadcast-cluster.ts). */
  metricsView?: (registry: Registry) => Registry;
  /** In a cluster worker: stop accepting when full while siblings accept (src/role-cluster.ts). */
  acceptGate?: (server: Server, listen: () => Promise<void>, logger: Logger) => AcceptGate;
}

export interface RunningBroadcastServer extends RunningRole {
  readonly port: number;
  readonly metrics: Registry;
  readonly window: SnapshotWindow;
  readonly hub: Hub;
}

/**
 * The write path asked for, or the next one down where this build or Node lacks it (`batch` needs
 * the C addon, socket-batch-write.ts; `direct` needs Node's stream_wrap binding,
 * socket-direct-write.ts), said once in the log.
 */
function writePath(wanted: TransportKind, logger: Logger): TransportKind {
  if (wanted === 'batch') {
    const unsupported = batchWriteSupport();
    if (unsupported === undefined) return wanted;
    logger.warn({ reason: unsupported }, 'batch socket writes unavailable (C addon not built): snapshots are written socket by socket');
    return writePath('direct', logger);
  }
  const unsupported = wanted === 'direct' ? directWriteSupport() : undefined;
  if (unsupported === undefined) return wanted;
  logger.warn({ reason: unsupported }, 'direct socket writes unavailable on this Node: snapshots go through socket.write()');
  return 'socket';
}

export async function startBroadcastServer(config: TallyConfig, options: BroadcastServerOptions = {}): Promise<RunningBroadcastServer> {
  const logger = createLogger('broadcast', config);
  const registry = createMetricsRegistry('broadcast');
  const settings = config.broadcast;

  const pool = createPool(config.postgres.url, 2, (error) => logger.warn({ reason: error.message }, 'idle PostgreSQL connection lost'));
  const board = new ResultsBoard();
  const feed = new PartialFeed(config.redisUrl, logger, (surveyId) => board.markChanged(surveyId));
  const catalog = new SurveyCatalog(pool, logger, (surveyId) => board.markChanged(surveyId));
  board.attach(feed, catalog);
  let hub: Hub | undefined;
  const limits = new ConnectionLimits(settings.maxConnections, settings.maxPerIp);
  const metrics = createBroadcastMetrics(registry, () => hub?.size ?? 0, () => limits.accepting);
  hub = new Hub(metrics, logger);
  const window = new SnapshotWindow(settings.windowMs, board, hub, metrics, logger);

  try {
    await feed.start();
  } catch (error) {
    await Promise.allSettled([feed.close(), pool.end()]);
    throw error;
  }

  const app = createRoleServer({
    logger,
    metrics: options.metricsView ? options.metricsView(registry) : registry,
    readiness: {
      redis: () => feed.ping(),
      postgres: async () => (await pool.query('SELECT 1')).rowCount === 1,
    },
  });
  await app.register(FastifySSEPlugin, { retryDelay: RETRY_MS });
  registerStreamRoute(app, { board, hub, limits, metrics, slowClientBytes: settings.slowClientBytes, transport: writePath(options.transport ?? settings.writePath, logger) });
  registerResultsRoute(app, board);
  registerDashboardRoute(app);
  await registerReceiptRoute(app, config, pool, logger);

  const listenOptions = { host: config.host, port: config.ports.broadcast, backlog: LISTEN_BACKLOG };
  await app.listen(listenOptions);
  app.server.maxConnections = settings.maxConnections + NON_STREAM_SOCKETS;
  if (options.acceptGate) {
    // Listening again with the same options rejoins the cluster's shared socket (same port, even for port 0).
    const listenAgain = () =>
      new Promise<void>((resolve, reject) => {
        app.server.once('error', reject);
        app.server.listen(listenOptions, () => {
          app.server.off('error', reject);
          resolve();
        });
      });
    limits.attachGate(options.acceptGate(app.server, listenAgain, logger));
  }
  const port = (app.server.address() as AddressInfo).port;
  window.start();
  const heartbeat = setInterval(() => hub!.heartbeat(Date.now() - settings.heartbeatMs), settings.heartbeatMs);
  const sweep = setInterval(() => board.sweep((surveyId) => hub!.subscriberCount(surveyId) > 0, Date.now()), SWEEP_EVERY_MS);
  sweep.unref();
  logger.info({ host: config.host, port, windowMs: settings.windowMs, maxConnections: settings.maxConnections, maxPerIp: settings.maxPerIp }, 'broadcast listening');

  let closing: Promise<void> | undefined;
  return {
    addresses: [`http://${config.host}:${port}/v1/surveys/:id/results/stream`, `http://${config.host}:${port}/dashboard/:surveyId`],
    port,
    metrics: registry,
    window,
    hub,
    close() {
      closing ??= (async () => {
        window.stop();
        clearInterval(heartbeat);
        clearInterval(sweep);
        const closed = hub!.closeAll();
        logger.info({ clients: closed }, 'broadcast closing: streams told to reconnect');
        await app.close();
        await Promise.allSettled([feed.close(), pool.end()]);
      })();
      return closing;
    },
  };
}
