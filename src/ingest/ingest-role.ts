// `tally ingest`: the HTTP API that defines surveys and turns votes into records of the votes topic.
import type { FastifyPluginAsync } from 'fastify';
import type { TallyConfig } from '../config.js';
import { createPool } from '../db/postgres.js';
import { createLogger } from '../logger.js';
import { clusterMetricsView, clusterReadinessView, isClusterWorker, reportListening } from '../role-cluster.js';
import type { RunningRole } from '../role.js';
import { buildIngestApp, type IngestAppOptions } from './ingest-app.js';
import { startIngestCluster } from './ingest-cluster.js';
import { auditRoutes } from '../verify/audit-routes.js';
import { createKafka } from '../kafka.js';
import { ReceiptProofs } from '../verify/receipt-proofs.js';
import { receiptRoutes } from '../verify/receipt-routes.js';
import { closeIngestDeps, ingestDepsConnected, openIngestDeps } from './ingest-deps.js';

/** How long start-up waits for Kafka, the registry and Redis before listening anyway (answering 503 until they come). */
const CONNECT_WAIT_MS = 10_000;

export interface IngestStartOptions extends Pick<Partial<IngestAppOptions>, 'metricsView' | 'readinessView'> {
  /** Extra route plugins registered on the app before it listens (e.g. the audit routes of verify). */
  plugins?: FastifyPluginAsync[];
}

export interface RunningIngest extends RunningRole {
  readonly port: number;
}

/** One ingest process (a cluster worker, or the whole role when TALLY_INGEST_PROCESSES=1). */
export async function startIngest(config: TallyConfig, options: IngestStartOptions = {}): Promise<RunningIngest> {
  const logger = createLogger('ingest', config);
  const deps = openIngestDeps(config, { logger });
  try {
    await ingestDepsConnected(deps, CONNECT_WAIT_MS).catch((error: unknown) => logger.warn({ err: error }, 'starting before every dependency is connected'));
    const { app } = await buildIngestApp(deps, { metricsView: options.metricsView, readinessView: options.readinessView });
    for (const plugin of options.plugins ?? []) await app.register(plugin);
    await app.listen({ host: config.host, port: config.ports.ingest });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.ports.ingest;
    let closing: Promise<void> | null = null;
    return {
      addresses: [`http://${config.host}:${port}`],
      port,
      close: () =>
        (closing ??= (async () => {
          await app.close(); // stops accepting; in-flight requests still get their acks
          await closeIngestDeps(deps);
        })()),
    };
  } catch (error) {
    await closeIngestDeps(deps);
    throw error;
  }
}

/**
 * `tally ingest`: the public API, which also serves the verify role's GET /v1/audit/checkpoints
 * and GET /v1/receipts/:partition/:offset (read-only, its own small pool; receipts read the log)
 * so third parties find the chain heads and voters their proofs beside the votes API.
 * TALLY_INGEST_PROCESSES > 1: a cluster of such processes on one port (ingest-cluster.ts).
 */
export async function start(config: TallyConfig): Promise<RunningRole> {
  const worker = isClusterWorker('ingest');
  if (!worker && config.ingest.processes > 1) return startIngestCluster(config);
  const auditPool = createPool(config.postgres.url, 2);
  const logger = createLogger('ingest', config);
  try {
    const ingest = await startIngest(config, {
      plugins: [auditRoutes(auditPool, config), receiptRoutes(new ReceiptProofs(auditPool, createKafka(config, 'receipts', logger), config.kafka.votesTopic, logger))],
      ...(worker ? { metricsView: clusterMetricsView, readinessView: clusterReadinessView } : {}),
    });
    if (worker) reportListening(ingest.port);
    let closing: Promise<void> | null = null;
    return { addresses: ingest.addresses, close: () => (closing ??= ingest.close().finally(() => auditPool.end())) };
  } catch (error) {
    await auditPool.end();
    throw error;
  }
}
