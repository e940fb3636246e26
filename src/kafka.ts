// Kafka client factory and topic set-up shared by every role that talks to Kafka.
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { TallyConfig } from './config.js';
import type { Logger } from './logger.js';
import { topicReplication } from './topic-replication.js';

const { Kafka: KafkaClient, logLevel: KafkaLogLevel } = kafkajs;
export const { Partitioners } = kafkajs;

/** kafkajs logs routed into pino, so every line is JSON with the role. */
/**
 * kafkajs repeats some configuration warnings for every producer it creates (the partitioner
 * notice, "Limiting retries for the idempotent producer": tally limits them on purpose and says so
 * where it does). A process that creates producers in a loop would log them thousands of times, so
 * each such warning is logged once per process at warn, later copies at debug.
 */
const REPEATED_KAFKA_WARNINGS = [/^KafkaJS v2\.0\.0 switched default partitioner/, /^Limiting retries for the idempotent producer/];
const warnedOnce = new Set<string>();

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...rest } = log;
      if (level <= KafkaLogLevel.ERROR) logger.error({ kafka: rest }, message);
      else if (level === KafkaLogLevel.WARN && !isRepeatedWarning(message)) logger.warn({ kafka: rest }, message);
      else logger.debug({ kafka: rest }, message);
    };
}

function isRepeatedWarning(message: string): boolean {
  const pattern = REPEATED_KAFKA_WARNINGS.find((candidate) => candidate.test(message));
  if (!pattern) return false;
  if (!warnedOnce.has(pattern.source)) {
    warnedOnce.add(pattern.source);
    return false;
  }
  return true;
}

export function createKafka(config: TallyConfig, clientId: string, logger: Logger): Kafka {
  return new KafkaClient({
    clientId: `${config.kafka.clientId}-${clientId}`,
    brokers: config.kafka.brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 200, retries: 8 },
  });
}

/**
 * Creates the votes topic and its DLQ if missing. Retention is unlimited: the votes topic is the
 * system of record and the audit log. Replicas and min.insync.replicas: topic-replication.ts.
 * Safe to call from several processes at once.
 */
export async function ensureTopics(admin: Admin, config: TallyConfig): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = [config.kafka.votesTopic, config.kafka.dlqTopic].filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  const { brokers } = await admin.describeCluster();
  const { replicationFactor, minInsyncReplicas } = topicReplication(brokers.length, config.kafka);
  const configEntries = [
    { name: 'retention.ms', value: '-1' },
    { name: 'retention.bytes', value: '-1' },
    { name: 'min.insync.replicas', value: String(minInsyncReplicas) },
  ];
  const wanted = [
    { topic: config.kafka.votesTopic, numPartitions: config.kafka.partitions, replicationFactor, configEntries },
    { topic: config.kafka.dlqTopic, numPartitions: 1, replicationFactor, configEntries },
  ].filter((topic) => missing.includes(topic.topic));
  try {
    await admin.createTopics({ topics: wanted, waitForLeaders: true });
  } catch (error) {
    // Another process may have created it between listTopics and createTopics.
    if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
}
