// `tally aggregate`: a kafkajs consumer group on the votes topic; each assigned partition is pinned
// to a worker thread that keeps its tallies in its own RocksDB (README.md draws the batch path and
// the partition lifecycle). This file only assembles the parts.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { TallyConfig } from '../config.js';
import { createPool } from '../db/postgres.js';
import { checkPartitionCount } from '../topic-partitions.js';
import { fetchTopicId } from '../topic-id.js';
import { createKafka, ensureTopics, Partitioners } from '../kafka.js';
import { TallyError } from '../errors.js';
import { createLogger } from '../logger.js';
import { createMetricsRegistry } from '../metrics.js';
import { createRoleServer } from '../role-server.js';
import type { RunningRole } from '../role.js';
import { createAggregateMetrics } from './aggregate-metrics.js';
import { consumerSettings } from './consumer-settings.js';
import { dlqBatchLimit } from './dlq-producer.js';
import { LagMonitor } from './lag-monitor.js';
import { OwnedPartitions } from './owned-partitions.js';
import { WorkerSlots } from './worker-slots.js';

export interface RunningAggregator extends RunningRole {
  /** Stops fetching (in-flight batches finish); operators and the lag test use it. */
  pause(): void;
  resume(): void;
  /** Refreshes the lag metric now instead of waiting for the next tick. */
  refreshLag(): Promise<void>;
}

export async function start(config: TallyConfig): Promise<RunningAggregator> {
  const logger = createLogger('aggregate', config);
  const registry = createMetricsRegistry('aggregate');
  const metrics = createAggregateMetrics(registry);
  const topic = config.kafka.votesTopic;
  const instance = `${config.kafka.clientId}-aggregate@${hostname()}:${process.pid}`;

  const kafka = createKafka(config, 'aggregate', logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  const dlqMaxBytes = await dlqBatchLimit(admin, config.kafka.dlqTopic);
  // Stored with every partition's offsets: a recreated topic (new id) stops the partition.
  const topicId = await fetchTopicId(config.kafka.brokers, topic, config.kafka.clientId);
  const pg = createPool(config.postgres.url, 4, (error) => logger.warn({ reason: error.message }, 'idle PostgreSQL connection lost'));
  // Refuse to count on a topic whose partition count changed (keys re-hash: double counting).
  const partitionCount = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;
  try {
    await checkPartitionCount(pg, topic, partitionCount);
  } catch (error) {
    await Promise.all([admin.disconnect(), pg.end()]).catch(() => undefined);
    throw error;
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const consumer = kafka.consumer(consumerSettings(config));
  await consumer.connect();

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
  const slots = new WorkerSlots(config.aggregate.workerThreads, {
    dataDir: config.aggregate.dataDir,
    topic,
    registryUrl: config.registryUrl,
    schemaNotFoundGraceMs: config.schemaNotFoundGraceMs,
    topicId,
    redisUrl: config.redisUrl,
    instance,
    checkpointEvery: config.aggregate.checkpointEvery,
    logLevel: config.logLevel,
  });
  const owned = new OwnedPartitions({ config, logger, metrics, slots, consumer, producer, pg, dlqMaxBytes });
  logger.info({ topic, topicId, partitions: partitionCount }, 'votes topic');
  const lag = new LagMonitor(admin, topic, () => owned.positions(), metrics, logger, (partitions) => {
    if (partitions === partitionCount) return;
    // Partitions added while running: the new ones would count votes a voter has in another one.
    logger.fatal({ err: new TallyError('TALLY_ERR_PARTITION_COUNT', `topic ${topic} now has ${partitions} partitions; this aggregator started with ${partitionCount}`) }, 'partition count changed: exiting');
    process.exit(1);
  });

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const assigned = event.payload.memberAssignment[topic] ?? [];
    logger.info({ partitions: assigned }, 'partitions assigned');
    owned.assign(assigned).catch((error: unknown) => logger.error({ err: error }, 'partition assignment failed'));
  });
  consumer.on(consumer.events.CRASH, (event) => {
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    if (!event.payload.restart) {
      // Nothing left to consume with: exit so a supervisor restarts us (state is durable).
      process.exit(1);
    }
  });

  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.kafka.partitions,
    eachBatch: (payload) => owned.handleBatch(payload),
  });
  lag.start();
  let refreshing: Promise<unknown> | undefined;
  const partialsCheck = setInterval(() => {
    refreshing ??= owned.refreshPartials().finally(() => (refreshing = undefined));
  }, config.aggregate.partialsCheckMs);
  partialsCheck.unref();

  const server = createRoleServer({
    logger,
    metrics: registry,
    readiness: {
      kafka: async () => (await admin.describeCluster()).brokers.length > 0,
      redis: async () => (await redis.ping()) === 'PONG',
      postgres: async () => (await pg.query('SELECT 1')).rowCount === 1,
    },
  });
  const address = await server.listen({ host: config.host, port: config.ports.aggregate });

  let closing: Promise<void> | undefined;
  return {
    addresses: [address],
    pause: () => consumer.pause([{ topic }]),
    resume: () => consumer.resume([{ topic }]),
    refreshLag: () => lag.refresh(),
    close: () =>
      (closing ??= (async () => {
        logger.info('stopping: finishing in-flight batches');
        await lag.stop();
        clearInterval(partialsCheck);
        await refreshing;
        await consumer.stop();
        await owned.shutdown();
        await consumer.disconnect();
        await producer.disconnect();
        await admin.disconnect();
        await slots.destroy();
        redis.disconnect();
        await pg.end();
        await server.close();
        logger.info('stopped: every owned partition checkpointed and released');
      })()),
  };
}
