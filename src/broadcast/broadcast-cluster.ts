// Scale-out on one machine: a process holds at most ~18,000 sockets here (open-file limit 20,000,
// not raisable), so `tally broadcast` runs ceil(targetClients / 16,000) processes with node:cluster
// on one shared port. Every worker is a complete broadcaster fed from Redis pub/sub on its own,
// so the same layout works across machines (one cluster per machine behind any load balancer).
// The primary (src/role-cluster.ts, shared with ingest) only forks, restarts crashed workers, and
// answers the workers' /metrics with the sum over the cluster (prom-client's AggregatorRegistry), so
// any worker's /metrics is cluster-wide.
//
// Connections: workers accept straight from the shared listening socket (SCHED_NONE), one per
// wake-up (UV_TCP_SINGLE_ACCEPT) so that an idle worker does not take the whole queue. Round-robin
// made the primary accept every connection and pass it over IPC: measured with `bench fanout
// --clients 100000` (7 processes), connecting took 117.7 s with round-robin (primary 7 CPU-s),
// 28.7 s with SCHED_NONE, 39.2 s with SCHED_NONE + single accept (machine load 11-17 during both).
// The kernel spreads connections less evenly than round-robin (100k over 6 workers: 12.9k-18.0k
// each, 221 refused at the 18,000 cap; with single accept 15.4k-17.8k), hence the sizing below.
// NODE_CLUSTER_SCHED_POLICY=rr / UV_TCP_SINGLE_ACCEPT=0 in the environment still choose the old way.
import type { TallyConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { isClusterWorker, startRoleCluster } from '../role-cluster.js';
import type { RunningRole } from '../role.js';

export { clusterMetricsView, reportListening } from '../role-cluster.js';

/** Sockets one process serves at most (design: ~18,000 under the 20,000 open-file limit). */
export const CLIENTS_PER_PROCESS = 18_000;
/** Clients planned per process: below the cap, because the kernel does not spread connections evenly. */
export const PLANNED_CLIENTS_PER_PROCESS = 16_000;

export function processCountFor(targetClients: number): number {
  return Math.max(1, Math.ceil(targetClients / PLANNED_CLIENTS_PER_PROCESS));
}

export function isBroadcastWorker(): boolean {
  return isClusterWorker('broadcast');
}

/** Primary: forks `count` workers (src/role-cluster.ts) and resolves when all of them listen. */
export async function startCluster(config: TallyConfig, count: number): Promise<RunningRole> {
  const logger = createLogger('broadcast', config);
  const cluster = await startRoleCluster({
    role: 'broadcast',
    processes: count,
    logger,
    scheduling: 'none',
    workerEnv: { UV_TCP_SINGLE_ACCEPT: process.env.UV_TCP_SINGLE_ACCEPT ?? '1' },
  });
  logger.info({ processes: count, host: config.host, port: cluster.port, targetClients: config.broadcast.targetClients }, 'broadcast cluster listening');
  return {
    addresses: [`http://${config.host}:${cluster.port}/v1/surveys/:id/results/stream (${count} processes)`, `http://${config.host}:${cluster.port}/dashboard/:surveyId`],
    close: () => cluster.close(),
  };
}
