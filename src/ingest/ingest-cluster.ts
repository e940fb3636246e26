// `tally ingest` as one process per core (TALLY_INGEST_PROCESSES, default: the cores node sees),
// all on one port (src/role-cluster.ts, shared with broadcast). Every worker is a complete ingest:
// its own Redis connection, PostgreSQL pool and idempotent Kafka producer (its own producer id and
// batches), so nothing on the vote path crosses processes; /metrics and /readyz of any worker
// answer for the whole cluster.
//
// Connections are handed out round-robin by the primary: a vote client (a load balancer, the bench)
// keeps a few keep-alive connections open for many requests, and with SCHED_NONE the kernel left
// them unevenly spread (one worker saturated while another idled). The primary's cost is one
// accept + handle pass per connection, not per request.
import type { TallyConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startRoleCluster } from '../role-cluster.js';
import type { RunningRole } from '../role.js';

export const INGEST_SCHEDULING = 'rr' as const;

/**
 * A vote allocates a few KiB of short-lived objects (request, JSON, token, Redis and Kafka
 * commands); with V8's default 16 MiB semi-spaces the young generation filled so often that
 * scavenges were 12-18 % of the worker's CPU. 32 MiB: 112-121 µs per vote against 128-131 µs in
 * `bench ingest --processes 1` (two rounds each, same run). An operator's own flag (NODE_OPTIONS or
 * node's arguments) wins.
 */
export const INGEST_WORKER_FLAGS = ['--max-semi-space-size=32'];

function workerFlags(): string[] {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((flag) => flag.startsWith('--max-semi-space-size')) ? [] : INGEST_WORKER_FLAGS;
}

export async function startIngestCluster(config: TallyConfig): Promise<RunningRole> {
  const logger = createLogger('ingest', config);
  const processes = config.ingest.processes;
  const cluster = await startRoleCluster({ role: 'ingest', processes, logger, scheduling: INGEST_SCHEDULING, workerExecArgv: workerFlags() });
  logger.info({ processes, host: config.host, port: cluster.port }, 'ingest cluster listening');
  return { addresses: [`http://${config.host}:${cluster.port} (${processes} processes)`], close: () => cluster.close() };
}
