// The aggregator's Prometheus metrics (names: tally_ prefix, base units, _total for counters).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AggregateMetrics {
  lag: Gauge<'topic' | 'partition'>;
  votes: Counter<'outcome'>;
  batchDuration: Histogram;
  writeDuration: Histogram;
  batchRecords: Histogram;
  checkpoints: Counter;
  partialsBehind: Gauge<'topic' | 'partition'>;
  partialsRepairs: Counter<'topic' | 'partition'>;
}

export function createAggregateMetrics(registry: Registry): AggregateMetrics {
  const registers = [registry];
  const votes = new Counter({
    name: 'tally_votes_total',
    help: 'Vote records processed, by outcome (accepted, duplicate, invalid; dlq = copies produced to the DLQ)',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['accepted', 'duplicate', 'invalid', 'dlq']) votes.inc({ outcome }, 0);
  return {
    lag: new Gauge({
      name: 'tally_consumer_lag',
      help: 'Log end offset minus the next offset to process, per owned partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    votes,
    batchDuration: new Histogram({
      name: 'tally_batch_duration_seconds',
      help: 'One batch from eachBatch to Kafka commit (pack, worker, DLQ, synced write, Redis, commit)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    writeDuration: new Histogram({
      name: 'tally_rocksdb_write_duration_seconds',
      help: 'One synced RocksDB write batch (WAL fsync included)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    batchRecords: new Histogram({
      name: 'tally_batch_records',
      help: 'Records per processed batch',
      buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000],
      registers,
    }),
    checkpoints: new Counter({ name: 'tally_checkpoints_total', help: 'Checkpoint rows inserted into audit_checkpoints', registers }),
    partialsBehind: new Gauge({
      name: 'tally_partials_behind_records',
      help: 'Records of an owned partition durable in RocksDB whose Redis partials are not known to be published (0 normally; > 0 while Redis is unreachable)',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    partialsRepairs: new Counter({
      name: 'tally_partials_repairs_total',
      help: 'Times the Redis partials of a partition were found missing or behind its store (Redis restarted or flushed, a publish lost) and republished',
      labelNames: ['topic', 'partition'],
      registers,
    }),
  };
}
