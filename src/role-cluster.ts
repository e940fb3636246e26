// A role as a node:cluster of processes on one shared port (broadcast: sockets per process;
// ingest: one process per core). The primary only forks, restarts a worker that dies, and answers
// the workers' cluster-wide questions over IPC:
//
//   worker /metrics ─► 'metrics-request' ─► primary: AggregatorRegistry.clusterMetrics() (sum of every worker)
//   worker /readyz  ─► 'readiness-request' ─► primary ─► 'readiness-probe' to every worker ─► their reports
//                                            ◄─ one report: ready only when every expected worker is ready
//
// so whichever worker a scraper or a load balancer reaches, it sees the whole cluster.
//
// A worker that is full (broadcast: its stream cap) stops accepting while a sibling still accepts,
// so the kernel hands new connections to processes with room instead of one answering 503:
//
//   worker full ─► 'pause-request' ─► primary: another live worker accepting? ─► 'pause-answer'
//                  granted: the worker closes its copy of the listening socket (the primary keeps
//                  the shared one open for the others); denied: it stays open (the last one answers 503)
//   worker has room again ─► listens again (same shared socket) ─► 'resumed'
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { ReadinessProbe, ReadinessReport } from './role-server.js';

/** Set to the role name in the environment of forked workers. */
export const CLUSTER_WORKER_ENV = 'TALLY_CLUSTER_WORKER';

const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;
/** A worker that does not answer a readiness probe within this counts as not ready. */
const PROBE_TIMEOUT_MS = 2000;
/** A worker's /readyz or /metrics question to the primary fails after this (the probe's time and room to spare). */
const ASK_PRIMARY_TIMEOUT_MS = PROBE_TIMEOUT_MS + 3000;

type ClusterMessage =
  | { type: 'tally:listening'; port: number }
  | { type: 'tally:metrics-request'; requestId: number }
  | { type: 'tally:metrics-response'; requestId: number; text?: string; error?: string }
  | { type: 'tally:readiness-request'; requestId: number }
  | { type: 'tally:readiness-response'; requestId: number; report: ReadinessReport }
  | { type: 'tally:readiness-probe'; probeId: number }
  | { type: 'tally:readiness-report'; probeId: number; report: ReadinessReport }
  | { type: 'tally:pause-request' }
  | { type: 'tally:pause-answer'; granted: boolean }
  | { type: 'tally:resumed' };

export interface RoleClusterOptions {
  role: string;
  processes: number;
  logger: Logger;
  /**
   * 'rr': the primary accepts and hands connections round-robin (even spread of a few long-lived
   * keep-alive connections); 'none': workers accept from the shared socket themselves (cheaper per
   * connection, uneven spread). NODE_CLUSTER_SCHED_POLICY in the environment wins.
   */
  scheduling: 'rr' | 'none';
  /** Extra environment of the workers. */
  workerEnv?: Record<string, string>;
  /** Extra node / V8 flags of the workers (after the primary's own). */
  workerExecArgv?: string[];
}

export interface RunningCluster {
  readonly port: number;
  readonly processes: number;
  close(): Promise<void>;
}

export function isClusterWorker(role: string): boolean {
  return cluster.isWorker && process.env[CLUSTER_WORKER_ENV] === role;
}

/** Primary: forks the workers (this same program) and resolves when every one of them listens. */
export async function startRoleCluster(options: RoleClusterOptions): Promise<RunningCluster> {
  const { logger, processes } = options;
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let port = 0;
  let nextProbeId = 0;
  const probes = new Map<number, { reports: ReadinessReport[]; expected: number; done: () => void }>();
  /** ids of workers that stopped accepting because they are full */
  const paused = new Set<number>();

  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = options.scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  if (options.workerExecArgv?.length) cluster.setupPrimary({ execArgv: [...process.execArgv, ...options.workerExecArgv] });

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead() && w.isConnected());

  const clusterReadiness = async (): Promise<ReadinessReport> => {
    const workers = live();
    const probeId = nextProbeId++;
    const reports: ReadinessReport[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PROBE_TIMEOUT_MS);
      probes.set(probeId, { reports, expected: workers.length, done: () => (clearTimeout(timer), resolve()) });
      for (const worker of workers) worker.send({ type: 'tally:readiness-probe', probeId } satisfies ClusterMessage);
    });
    probes.delete(probeId);
    return mergeReadiness(reports, processes);
  };

  const fork = (): Worker => {
    const worker = cluster.fork({ ...options.workerEnv, [CLUSTER_WORKER_ENV]: options.role });
    worker.on('message', (message: ClusterMessage) => {
      switch (message?.type) {
        case 'tally:metrics-request':
          aggregator.clusterMetrics().then(
            (text) => worker.isConnected() && worker.send({ type: 'tally:metrics-response', requestId: message.requestId, text } satisfies ClusterMessage),
            (error: Error) => worker.isConnected() && worker.send({ type: 'tally:metrics-response', requestId: message.requestId, error: error.message } satisfies ClusterMessage),
          );
          break;
        case 'tally:readiness-request':
          void clusterReadiness().then((report) => worker.isConnected() && worker.send({ type: 'tally:readiness-response', requestId: message.requestId, report } satisfies ClusterMessage));
          break;
        case 'tally:pause-request': {
          // Granted only while another worker accepts: the last one keeps accepting (and refusing).
          const granted = live().some((other) => other !== worker && !paused.has(other.id));
          if (granted) paused.add(worker.id);
          worker.send({ type: 'tally:pause-answer', granted } satisfies ClusterMessage);
          break;
        }
        case 'tally:resumed':
          paused.delete(worker.id);
          break;
        case 'tally:readiness-report': {
          const probe = probes.get(message.probeId);
          if (probe === undefined) break;
          probe.reports.push(message.report);
          if (probe.reports.length === probe.expected) probe.done();
          break;
        }
        default:
      }
    });
    worker.on('exit', (code, signal) => {
      paused.delete(worker.id);
      if (stopping) return;
      logger.error({ workerPid: worker.process.pid, code, signal }, `${options.role} worker exited: restarting it`);
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS);
    });
    return worker;
  };

  const workers: Worker[] = [];
  const listening = new Promise<void>((resolve, reject) => {
    let ready = 0;
    for (let i = 0; i < processes; i += 1) {
      const worker = fork();
      workers.push(worker);
      const onMessage = (message: ClusterMessage) => {
        if (message?.type !== 'tally:listening') return;
        worker.off('message', onMessage);
        port = message.port;
        ready += 1;
        if (ready === processes) resolve();
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => {
        if (ready < processes) reject(new Error(`${options.role} worker exited with ${code} before listening (see its log)`));
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

  return {
    port,
    processes,
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
  process.send?.({ type: 'tally:listening', port } satisfies ClusterMessage);
}

/** Whether a process accepts new connections; see clusterAcceptGate(). */
export interface AcceptGate {
  /** The process is full: stops accepting if a sibling accepts. Resolves once that is decided and done. */
  full(): Promise<void>;
  /** The process has room again: accepts again if it had stopped. */
  room(): void;
  readonly accepting: boolean;
}

/** A denied worker asks again at most this often (each refused connection would ask otherwise). */
const PAUSE_ASK_INTERVAL_MS = 1000;

/**
 * Worker: the accept gate of `server`, which listens through `listen` (called again, with the same
 * options, to rejoin the cluster's shared listening socket). Only the listening socket is closed
 * (net.Server's close, not http.Server's, which would also close idle keep-alive connections);
 * open connections are untouched.
 */
export function clusterAcceptGate(server: net.Server, listen: () => Promise<void>, logger: Logger): AcceptGate {
  let state: 'accepting' | 'asking' | 'paused' | 'resuming' = 'accepting';
  let asking: Promise<void> | undefined;
  let answer: ((granted: boolean) => void) | undefined;
  let roomWhileAsking = false;
  let lastDeniedAt = -Infinity;
  process.on('message', (message: ClusterMessage) => {
    if (message?.type === 'tally:pause-answer') answer?.(message.granted);
  });
  const resume = (): void => {
    state = 'resuming';
    listen().then(
      () => {
        state = 'accepting';
        process.send?.({ type: 'tally:resumed' } satisfies ClusterMessage);
        logger.info('accepting connections again');
      },
      (error: Error) => {
        // Still closed: tell the primary, which then lets no other worker pause on our account.
        state = 'accepting';
        process.send?.({ type: 'tally:resumed' } satisfies ClusterMessage);
        logger.error({ err: error.message }, 'listening again failed');
      },
    );
  };
  return {
    get accepting() {
      return state === 'accepting' || state === 'asking';
    },
    full() {
      if (state === 'asking') return asking!;
      if (state !== 'accepting' || Date.now() - lastDeniedAt < PAUSE_ASK_INTERVAL_MS) return Promise.resolve();
      state = 'asking';
      roomWhileAsking = false;
      asking = new Promise<boolean>((resolve) => {
        answer = resolve;
        process.send?.({ type: 'tally:pause-request' } satisfies ClusterMessage);
      }).then((granted) => {
        answer = undefined;
        if (!granted) {
          lastDeniedAt = Date.now();
          state = 'accepting';
        } else if (roomWhileAsking) {
          state = 'accepting';
          process.send?.({ type: 'tally:resumed' } satisfies ClusterMessage);
        } else {
          net.Server.prototype.close.call(server);
          state = 'paused';
          logger.info('full: stopped accepting, siblings accept');
        }
      });
      return asking;
    },
    room() {
      // A new episode: the next time this process is full it asks again at once (the interval only
      // spaces out the asks of one full spell, where every refused connection would ask).
      lastDeniedAt = -Infinity;
      if (state === 'asking') roomWhileAsking = true;
      else if (state === 'paused') resume();
    },
  };
}

/** Asks the primary over IPC; answers come back by request id. */
/**
 * A worker's question to the primary. The answer can be lost (a worker dies while the primary
 * gathers the cluster's reports, the IPC channel closes), and /readyz or /metrics must then answer
 * rather than hang: the question fails after ASK_PRIMARY_TIMEOUT_MS.
 */
function askPrimary<T>(type: 'tally:metrics-request' | 'tally:readiness-request', pending: Map<number, (value: T | Error) => void>, counter: { next: number }): Promise<T> {
  const requestId = counter.next++;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(requestId);
      reject(new Error(`the cluster primary did not answer ${type} within ${ASK_PRIMARY_TIMEOUT_MS} ms`));
    }, ASK_PRIMARY_TIMEOUT_MS);
    pending.set(requestId, (value) => {
      clearTimeout(timer);
      if (value instanceof Error) reject(value);
      else resolve(value);
    });
    // send() returning false only means the message is queued (IPC backpressure): the timeout is the answer's deadline.
    process.send?.({ type, requestId } satisfies ClusterMessage);
  });
}

/**
 * Worker: a registry whose metrics() asks the primary for the cluster-wide text, while the worker's
 * own metrics live in `local` (registered for the primary's aggregation).
 */
export function clusterMetricsView(local: Registry): Registry {
  AggregatorRegistry.setRegistries([local]);
  const pending = new Map<number, (value: string | Error) => void>();
  const counter = { next: 0 };
  process.on('message', (message: ClusterMessage) => {
    if (message?.type !== 'tally:metrics-response') return;
    const settle = pending.get(message.requestId);
    pending.delete(message.requestId);
    settle?.(message.text ?? new Error(message.error ?? 'no metrics'));
  });
  // An AggregatorRegistry, because constructing one is what makes a worker answer the primary.
  class ClusterView extends AggregatorRegistry<PrometheusContentType> {
    override metrics(): Promise<string> {
      return askPrimary<string>('tally:metrics-request', pending, counter);
    }
  }
  return new ClusterView();
}

/**
 * Worker: answers the primary's readiness probes with `local`, and returns the probe /readyz uses:
 * the cluster-wide report from the primary.
 */
export function clusterReadinessView(local: ReadinessProbe): ReadinessProbe {
  const pending = new Map<number, (value: ReadinessReport | Error) => void>();
  const counter = { next: 0 };
  process.on('message', (message: ClusterMessage) => {
    if (message?.type === 'tally:readiness-probe') {
      void local().then((report) => process.send?.({ type: 'tally:readiness-report', probeId: message.probeId, report: { ...report, pid: process.pid } } satisfies ClusterMessage));
    } else if (message?.type === 'tally:readiness-response') {
      const settle = pending.get(message.requestId);
      pending.delete(message.requestId);
      settle?.(message.report);
    }
  });
  // No answer from the primary is an unready cluster (503), not a hanging or failing /readyz.
  return () => askPrimary<ReadinessReport>('tally:readiness-request', pending, counter).catch((): ReadinessReport => ({ status: 'unready', checks: { cluster: 'down' } }));
}

/** One report for the cluster: a check is up only where it is up in every worker that answered. */
export function mergeReadiness(reports: ReadinessReport[], expected: number): ReadinessReport {
  const checks: Record<string, 'up' | 'down'> = {};
  for (const report of reports) {
    for (const [name, state] of Object.entries(report.checks)) if (checks[name] !== 'down') checks[name] = state;
  }
  const ready = reports.length === expected && reports.every((r) => r.status === 'ready');
  return {
    status: ready ? 'ready' : 'unready',
    checks,
    processes: { expected, answered: reports.length, ready: reports.filter((r) => r.status === 'ready').map((r) => r.pid ?? 0) },
  };
}
