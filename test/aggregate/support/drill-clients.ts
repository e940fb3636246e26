// The clients an aggregate integration test drives the real stack with: topics created, an
// idempotent producer on kafkajs's default partitioner, Redis, and the vote codec registered.
// close() removes what the test left behind (its topics, its surveys' partials, the status hash).
import { Redis } from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { TallyConfig } from '../../../src/config.js';
import { createKafka, Partitioners } from '../../../src/kafka.js';
import type { Logger } from '../../../src/logger.js';
import { surveyHashKey } from '../../../src/partition-tally.js';
import { VoteCodec } from '../../../src/vote-codec.js';
import { partitionStatusKey } from '../../../src/aggregate/partial-publisher.js';
import { createTestTopics, deleteTestTopics } from '../../support/test-topics.js';

export interface DrillClients {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  redis: Redis;
  codec: VoteCodec;
  close(surveyIds: readonly string[]): Promise<void>;
}

export async function openDrillClients(config: TallyConfig, clientId: string, logger: Logger): Promise<DrillClients> {
  const topic = config.kafka.votesTopic;
  const kafka = createKafka(config, clientId, logger);
  const admin = kafka.admin();
  await admin.connect();
  await createTestTopics(config, admin);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const redis = new Redis(config.redisUrl);
  const codec = new VoteCodec(config.registryUrl, topic);
  await codec.register();
  return {
    kafka,
    admin,
    producer,
    redis,
    codec,
    async close(surveyIds) {
      await producer.disconnect();
      await deleteTestTopics(config, admin);
      await admin.disconnect();
      await redis.del(...surveyIds.map(surveyHashKey), partitionStatusKey(topic));
      redis.disconnect();
    },
  };
}
