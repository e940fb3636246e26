// The aggregator's kafkajs consumer settings, in one place so `bench aggregate` can measure the
// kafkajs consume ceiling (a plain consumer, no processing) with exactly the same fetches.
import type { ConsumerConfig } from 'kafkajs';
import type { TallyConfig } from '../config.js';

/** Large fetches keep the per-batch costs (worker hop, fsync, Redis, commit) small per record. */
export const MAX_BYTES_PER_PARTITION = 2 * 1024 * 1024;
/**
 * A member killed with -9 holds its partitions until its session expires, so this is the pause a
 * crash costs. 6 s is the broker's default minimum; heartbeats go every second, and no batch
 * blocks the main thread anywhere near that long (the work happens on worker threads).
 */
const SESSION_TIMEOUT_MS = 6000;
const HEARTBEAT_INTERVAL_MS = 1000;

export function consumerSettings(config: TallyConfig, groupId = config.kafka.consumerGroup): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
    maxBytes: MAX_BYTES_PER_PARTITION * config.kafka.partitions,
    maxWaitTimeInMs: 250,
  };
}
