// Scale-out on one machine: a process holds at most ~18,000 sockets here (open-file limit 20,000,
// not raisable), so `tally broadcast` runs ceil(targetClients / 16,000) processes with node:cluster
// on one shared port. Every worker is a complete broadcaster fed from Redis pub/sub on its own,
// so the same layout works across machines (one cluster per machine behind any load balancer).
// The primary only forks, restarts crashed workers, and answers the workers' /metrics with the
// sum over the cluster (prom-client's AggregatorRegistry), so any worker's /metrics is cluster-wide.
//
// Connections: workers accept straight from the shared listening socket (SCHED_NONE), one per
// wake-up (UV_TCP_SINGLE_ACCEPT) so that an idle worker does not take the whole queue. Round-robin
// made the primary accept every connection and pass it over IPC: measured with `bench fanout
// --clients 100000` (7 processes), connecting took 117.7 s with round-robin (primary 7 CPU-s),
// 28.7 s with SCHED_NONE, 39.2 s with SCHED_NONE + single accept (machine load 11-17 during both).
// The kernel spreads connections less evenly than round-robin (100k over 6 workers: 12.9k-18.0k
// each, 221 refused at the 18,000 cap; with single accept 15.4k-17.8k), hence the sizing below.
// NODE_CLUSTER_SCHED_POLICY=rr / UV_TCP_SINGLE_ACCEPT=0 in the environment still choose the old way.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { TallyConfig } from '../config.js';
import { createLogger } from '../logger.js';
import type { RunningRole } from '../role.js';

/** Sockets one process serves at most (design: ~18,000 under the 20,000 open-file limit). */
export const CLIENTS_PER_PROCESS = 18_000;
/** Clients planned per process: below the cap, because the kernel does not spread connections evenly. */
export const PLANNED_CLIENTS_PER_PROCESS = 16_000;
/** Set in the environment of forked workers. */
export const WORKER_ENV = 'TALLY_BROADCAST_WORKER';

const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;

type ClusterMessage =
  | { type: 'tally:broadcast-listening'; port: number }
  | { type: 'tally:metrics-request'; requestId: number }
  | { type: 'tally:metrics-response'; requestId: number; text?: string; error?: string };

export function processCountFor(targetClients: number): number {
  return Math.max(1, Math.ceil(targetClients / PLANNED_CLIENTS_PER_PROCESS));
}

export function isBroadcastWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1';
}

/** Primary: forks `count` workers and resolves when all of them listen. */
export async function startCluster(config: TallyConfig, count: number): Promise<RunningRole> {
  const logger = createLogger('broadcast', config);
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let port = config.ports.broadcast;

  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const fork = (): Worker => {
    const worker = cluster.fork({ [WORKER_ENV]: '1', UV_TCP_SINGLE_ACCEPT: process.env.UV_TCP_SINGLE_ACCEPT ?? '1' });
    worker.on('message', (message: ClusterMessage) => {
      if (message?.type !== 'tally:metrics-request') return;
      aggregator.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: 'tally:metrics-response', requestId: message.requestId, text }),
        (error: Error) => worker.isConnected() && worker.send({ type: 'tally:metrics-response', requestId: message.requestId, error: error.message }),
      );
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ workerPid: worker.process.pid, code, signal }, 'broadcast worker exited: restarting it');
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS);
    });
    return worker;
  };

  const workers: Worker[] = [];
  const listening = new Promise<void>((resolve, reject) => {
    let ready = 0;
    for (let i = 0; i < count; i += 1) {
      const worker = fork();
      workers.push(worker);
      const onMessage = (message: ClusterMessage) => {
        if (message?.type !== 'tally:broadcast-listening') return;
        worker.off('message', onMessage);
        port = message.port;
        ready += 1;
        if (ready === count) resolve();
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => {
        if (ready < count) reject(new Error(`broadcast worker exited with ${code} before listening (see its log)`));
      });
    }
  });
  try {
    await listening;
  } catch (error) {
    stopping = true;
    for (const worker of workers) worker.process.kill('SIGTERM');
    throw error;
  }
  logger.info({ processes: count, host: config.host, port, targetClients: config.broadcast.targetClients }, 'broadcast cluster listening');

  return {
    addresses: [`http://${config.host}:${port}/v1/surveys/:id/results/stream (${count} processes)`, `http://${config.host}:${port}/dashboard/:surveyId`],
    async close() {
      stopping = true;
      const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
      await Promise.all(
        alive.map(
          (worker) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
              worker.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              worker.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** Worker: tells the primary where it listens. */
export function reportListening(port: number): void {
  process.send?.({ type: 'tally:broadcast-listening', port } satisfies ClusterMessage);
}

/**
 * Worker: a registry whose metrics() asks the primary for the cluster-wide text, while the worker's
 * own metrics live in `local` (registered for the primary's aggregation).
 */
export function clusterMetricsView(local: Registry): Registry {
  AggregatorRegistry.setRegistries([local]);
  let nextRequestId = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: ClusterMessage) => {
    if (message?.type !== 'tally:metrics-response') return;
    const waiter = pending.get(message.requestId);
    pending.delete(message.requestId);
    if (message.text !== undefined) waiter?.resolve(message.text);
    else waiter?.reject(new Error(message.error ?? 'no metrics'));
  });
  // An AggregatorRegistry, because constructing one is what makes a worker answer the primary.
  class ClusterView extends AggregatorRegistry<PrometheusContentType> {
    override metrics(): Promise<string> {
      const requestId = nextRequestId++;
      return new Promise<string>((resolve, reject) => {
        pending.set(requestId, { resolve, reject });
        process.send?.({ type: 'tally:metrics-request', requestId } satisfies ClusterMessage);
      });
    }
  }
  return new ClusterView();
}
