// Everything the ingest app talks to, opened from the config. Kafka and the schema registry are
// connected in the background (the app answers 503 until they are), so ingest starts — and
// /readyz tells why it is not ready — even while they are down.
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { TallyConfig } from '../config.js';
import { createPool, type Pool } from '../db/postgres.js';
import { checkPartitionCount } from '../topic-partitions.js';
import { createKafka } from '../kafka.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetricsRegistry } from '../metrics.js';
import { VoteCodec } from '../vote-codec.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { VoteEncoder } from './vote-encoder.js';
import { defaultVoteProducerOptions, VoteProducer, type VoteProducerOptions } from './vote-producer.js';

export interface IngestDeps {
  config: TallyConfig;
  logger: Logger;
  registry: Registry;
  metrics: IngestMetrics;
  pool: Pool;
  redis: Redis;
  producer: VoteProducer;
  encoder: VoteEncoder;
}

export interface IngestDepsOptions {
  logger?: Logger;
  registry?: Registry;
  producer?: Partial<VoteProducerOptions>;
  /** A Kafka client other than createKafka's (e.g. with other retry settings). */
  kafka?: Kafka;
}

export function openIngestDeps(config: TallyConfig, options: IngestDepsOptions = {}): IngestDeps {
  const logger = options.logger ?? createLogger('ingest', config);
  const registry = options.registry ?? createMetricsRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const pool = createPool(config.postgres.url, 10, (error) => logger.warn({ reason: error.message }, 'idle PostgreSQL connection lost'));
  // No offline queue and one retry: with Redis down a request fails fast (503) instead of waiting.
  // Auto-pipelining turns the Redis calls of concurrent requests into one round trip (the claim
  // script batches its own calls and bypasses it: vote-claims.ts).
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true, lazyConnect: false });
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));
  const producer = new VoteProducer(options.kafka ?? createKafka(config, 'ingest', logger), config, logger, metrics, { ...defaultVoteProducerOptions, ...options.producer }, (partitions) =>
    checkPartitionCount(pool, config.kafka.votesTopic, partitions),
  );
  const encoder = new VoteEncoder(new VoteCodec(config.registryUrl, config.kafka.votesTopic), config.registryUrl, logger);
  void producer.start();
  void encoder.start();
  return { config, logger, registry, metrics, pool, redis, producer, encoder };
}

/** How long closing waits for Redis to answer the commands already sent. */
const REDIS_QUIT_WAIT_MS = 1000;

/** Resolves when Redis, Kafka and the registry are connected, or rejects after `timeoutMs`. */
export async function ingestDepsConnected(deps: IngestDeps, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const redisReady = deps.redis.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => deps.redis.once('ready', () => resolve()));
  try {
    await Promise.race([
      Promise.all([redisReady, deps.producer.start(), deps.encoder.start()]),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`ingest dependencies not connected after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Flushes the producer (finishing the in-flight batch), then closes every connection. */
export async function closeIngestDeps(deps: IngestDeps): Promise<void> {
  deps.encoder.close();
  await deps.producer.close();
  await deps.pool.end().catch(() => undefined);
  // QUIT after the queued commands (the confirms of the last votes are not awaited by their requests),
  // bounded: an unresponsive Redis must not hold the shutdown.
  await Promise.race([deps.redis.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, REDIS_QUIT_WAIT_MS).unref())]);
  deps.redis.disconnect();
}
