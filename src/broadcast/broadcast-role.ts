// `tally broadcast`: one process when the target client count fits in one, otherwise a node:cluster
// of ceil(TALLY_BROADCAST_TARGET_CLIENTS / 16,000) processes on one shared port. A bench starts it
// with environment variables alone and waits for the log line "broadcast cluster listening"
// (or "broadcast listening" for a single process).
import type { TallyConfig } from '../config.js';
import type { RunningRole } from '../role.js';
import { clusterAcceptGate } from '../role-cluster.js';
import { clusterMetricsView, isBroadcastWorker, processCountFor, reportListening, startCluster } from './broadcast-cluster.js';
import { startBroadcastServer } from './broadcast-server.js';

export async function start(config: TallyConfig): Promise<RunningRole> {
  if (isBroadcastWorker()) {
    const server = await startBroadcastServer(config, { metricsView: clusterMetricsView, acceptGate: clusterAcceptGate });
    reportListening(server.port);
    return server;
  }
  const processes = processCountFor(config.broadcast.targetClients);
  if (processes === 1) return startBroadcastServer(config);
  return startCluster(config, processes);
}
