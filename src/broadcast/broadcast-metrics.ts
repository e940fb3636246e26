// The broadcaster's Prometheus metrics (role registry from src/metrics.ts). In cluster mode every
// worker keeps its own and /metrics on any worker answers with the sum over the cluster
// (broadcast-cluster.ts), so counts such as tally_sse_clients are cluster-wide.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DropReason } from './subscriber.js';

export type RefusalReason = 'capacity' | 'per_ip';

export interface BroadcastMetrics {
  clients: Gauge;
  accepting: Gauge;
  snapshotsSent: Counter;
  deliveries: Counter<'outcome'>;
  fanoutSeconds: Histogram;
  voteToSnapshotSeconds: Histogram;
  dropped: Counter<'reason'>;
  refused: Counter<'reason'>;
}

export function createBroadcastMetrics(registry: Registry, connectedClients: () => number, accepting: () => boolean = () => true): BroadcastMetrics {
  const dropReasons: DropReason[] = ['slow', 'shutdown'];
  const refusalReasons: RefusalReason[] = ['capacity', 'per_ip'];
  const metrics: BroadcastMetrics = {
    clients: new Gauge({
      name: 'tally_sse_clients',
      help: 'Open SSE result streams',
      registers: [registry],
      collect() {
        this.set(connectedClients());
      },
    }),
    accepting: new Gauge({
      name: 'tally_sse_accepting',
      help: 'Whether this process accepts new connections (0: full, its siblings accept); cluster-wide: the processes accepting',
      registers: [registry],
      collect() {
        this.set(accepting() ? 1 : 0);
      },
    }),
    snapshotsSent: new Counter({
      name: 'tally_snapshots_sent_total',
      help: 'Snapshots published by the window (one per survey per window, when it changed), each written to all its subscribers',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'tally_snapshot_deliveries_total',
      help: 'Snapshot frames offered to single clients, by outcome (written, or skipped because the client is behind)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    fanoutSeconds: new Histogram({
      name: 'tally_snapshot_fanout_duration_seconds',
      help: 'Time to write one snapshot to all local subscribers of its survey',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    voteToSnapshotSeconds: new Histogram({
      name: 'tally_vote_to_snapshot_seconds',
      help: 'From the newest counted vote (partial.lastCastAt) to the end of the fan-out of the snapshot that first includes it',
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'tally_sse_clients_dropped_total',
      help: 'SSE clients closed by the server, by reason (slow: behind for too many windows; shutdown)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'tally_sse_connections_refused_total',
      help: 'SSE connections refused by a cap, by reason (capacity: per process, per_ip)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  // Zero series for every label, so rates exist before the first event.
  for (const reason of dropReasons) metrics.dropped.inc({ reason }, 0);
  for (const reason of refusalReasons) metrics.refused.inc({ reason }, 0);
  metrics.deliveries.inc({ outcome: 'written' }, 0);
  metrics.deliveries.inc({ outcome: 'skipped' }, 0);
  return metrics;
}
