// One Prometheus registry per process. Roles define their own metrics on it (names: `tally_` prefix,
// base units, `_total` for counters) next to the code that updates them.
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'tally_', eventLoopMonitoringPrecision: 100 });
  return registry;
}
