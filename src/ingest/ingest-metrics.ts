// The ingest role's Prometheus metrics, on the role's registry (src/metrics.ts).
import { Counter, Histogram, type Registry } from 'prom-client';

export type VoteOutcome =
  | 'accepted'
  | 'replayed'
  | 'duplicate'
  | 'invalid'
  | 'not_found'
  | 'closed'
  | 'unavailable'
  | 'overloaded'
  | 'rate_limited'
  | 'in_progress'
  | 'unknown'
  | 'unsettled'
  | 'rejected'
  | 'error';

export interface IngestMetrics {
  requests: Counter<'route' | 'status'>;
  votes: Counter<'outcome'>;
  batchSize: Histogram;
  produceSeconds: Histogram;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  return {
    requests: new Counter({
      name: 'tally_ingest_requests_total',
      help: 'HTTP requests answered by ingest, by route pattern and status code',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    votes: new Counter({
      name: 'tally_votes_submitted_total',
      help: 'Vote submissions (votes and single answers) by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'tally_ingest_producer_batch_size',
      help: 'Vote records per producer.send',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers: [registry],
    }),
    produceSeconds: new Histogram({
      name: 'tally_ingest_produce_seconds',
      help: 'Latency of one producer.send (acks=all) in seconds',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    }),
  };
}
