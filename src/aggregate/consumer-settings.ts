// The aggregator's kafkajs consumer settings, in one place so `bench aggregate` can measure the
// kafkajs consume ceiling (a plain consumer, no processing) with exactly the same fetches.
import type { ConsumerConfig } from 'kafkajs';
import type { TallyConfig } from '../config.js';

/** Large fetches keep the per-batch costs (worker hop, fsync, Redis, commit) small per record. */
export const MAX_BYTES_PER_PARTITION = 2 * 1024 * 1024;
/**
 * A member killed with -9 holds its partitions until its session expires, so this is the pause a
 * crash costs (measured by `bench chaos`: kill -9 → counting again ≈ the session timeout + ~0.5 s).
 * TALLY_AGGREGATE_SESSION_TIMEOUT_MS, default 6 s: the broker's default minimum
 * (group.min.session.timeout.ms); lower it only where the brokers allow it and the process is never
 * starved of CPU that long. Heartbeats go every second (a third of the session below 3 s), and no
 * batch blocks the main thread anywhere near that long (the work happens on worker threads).
 */
const MAX_HEARTBEAT_INTERVAL_MS = 1000;

export function consumerSettings(config: TallyConfig, groupId = config.kafka.consumerGroup): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: config.aggregate.sessionTimeoutMs,
    heartbeatInterval: Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.floor(config.aggregate.sessionTimeoutMs / 3)),
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
    maxBytes: MAX_BYTES_PER_PARTITION * config.kafka.partitions,
    maxWaitTimeInMs: 250,
  };
}
