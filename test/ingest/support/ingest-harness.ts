// Test harness: a real ingest app (real Kafka, registry, PostgreSQL, Redis) on the test's own
// topics and rate-limit keys, driven with inject(); plus helpers to read the votes topic back.
import { createHmac } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { FastifyInstance, FastifyPluginAsync, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { TallyConfig } from '../../../src/config.js';
import { buildIngestApp, type IngestAppOptions, type IngestApp } from '../../../src/ingest/ingest-app.js';
import { closeIngestDeps, ingestDepsConnected, openIngestDeps, type IngestDeps, type IngestDepsOptions } from '../../../src/ingest/ingest-deps.js';
import { mintToken } from '../../../src/ingest/tokens.js';
import type { VoteProducerOptions } from '../../../src/ingest/vote-producer.js';
import { createKafka } from '../../../src/kafka.js';
import { createLogger } from '../../../src/logger.js';
import { VoteCodec, type VoteCast } from '../../../src/vote-codec.js';
import { testConfig, uniqueName } from '../../support/test-config.js';
import { deleteTestTopics, withAdmin } from '../../support/test-topics.js';
import { within } from '../../support/wait.js';

export interface Harness {
  config: TallyConfig;
  deps: IngestDeps;
  app: FastifyInstance;
  ingest: IngestApp;
  adminToken: string;
  rateLimitNamespace: string;
  voterToken(voterId: string, ttlSeconds?: number): string;
  /** inject with an admin token unless headers.authorization is given */
  admin(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  app?: Partial<IngestAppOptions>;
  producer?: Partial<VoteProducerOptions>;
  kafka?: IngestDepsOptions['kafka'];
  /** wait for Kafka and the registry (default true) */
  connected?: boolean;
  /** route plugins registered after the app's own (as `tally ingest` registers the audit routes) */
  plugins?: FastifyPluginAsync[];
}

export async function startHarness(name: string, options: HarnessOptions = {}): Promise<Harness> {
  const config = testConfig(name, options.env);
  const deps = openIngestDeps(config, { producer: options.producer, kafka: options.kafka });
  if (options.connected !== false) await ingestDepsConnected(deps, 20_000);
  const rateLimitNamespace = `${uniqueName('tally-test-rl')}:`;
  const ingest = await buildIngestApp(deps, { rateLimitNamespace, ...options.app });
  for (const plugin of options.plugins ?? []) await ingest.app.register(plugin);
  await ingest.app.ready();
  const adminToken = mintToken(config, { kind: 'admin' }, 600);
  const app = ingest.app;
  return {
    config,
    deps,
    app,
    ingest,
    adminToken,
    rateLimitNamespace,
    voterToken: (voterId, ttlSeconds = 600) => mintToken(config, { kind: 'voter', voterId }, ttlSeconds),
    admin: (request) => app.inject({ ...request, headers: { authorization: `Bearer ${adminToken}`, ...request.headers } }),
    close: async () => {
      await app.close();
      await closeIngestDeps(deps);
      if (options.env?.TALLY_KAFKA_BROKERS === undefined) await deleteTestTopics(config);
    },
  };
}

export const sampleSurvey = (overrides: Record<string, unknown> = {}) => ({
  title: 'Elections Survey',
  regions: ['EU', 'US'],
  questions: [
    {
      title: 'Who would you vote for president?',
      min: 1,
      max: 2,
      order: 0,
      options: [
        { text: 'Homer Simpson', image: 'https://example.com/homer.jpg', order: 0 },
        { text: 'Ned Flanders', image: 'https://example.com/ned.jpg', order: 1 },
        { text: 'Marge Simpson', image: null, order: 2 },
      ],
    },
    {
      title: 'Who would you vote for minister?',
      min: 1,
      max: 1,
      order: 1,
      options: [
        { text: 'Montgomery Burns', order: 0 },
        { text: 'Sideshow Bob', order: 1 },
      ],
    },
  ],
  ...overrides,
});

export interface CreatedSurvey {
  id: string;
  questions: { id: string; options: { id: string }[] }[];
}

export async function createSurvey(h: Harness, body: unknown = sampleSurvey(), publish = true): Promise<CreatedSurvey> {
  const created = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: body as Record<string, unknown> });
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.statusCode} ${created.body}`);
  const survey = created.json() as CreatedSurvey;
  if (publish) {
    const published = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${survey.id}/publish` });
    if (published.statusCode !== 200) throw new Error(`publish failed: ${published.statusCode} ${published.body}`);
  }
  return survey;
}

export function vote(h: Harness, surveyId: string, voterId: string, payload: unknown, headers: Record<string, string> = {}) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/surveys/${surveyId}/votes`,
    headers: { authorization: `Bearer ${h.voterToken(voterId)}`, ...headers },
    payload: payload as Record<string, unknown>,
  });
}

export interface ConsumedVote {
  partition: number;
  offset: string;
  key: string;
  vote: VoteCast;
}

/** Reads the votes topic from the beginning until `count` records arrived (or times out). */
export async function consumeVotes(config: TallyConfig, count: number, timeoutMs = 15_000): Promise<ConsumedVote[]> {
  const kafka = createKafka(config, 'test-consumer', createLogger('test', config));
  const consumer = kafka.consumer({ groupId: uniqueName('ingest-test') });
  const codec = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
  const records: ConsumedVote[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: config.kafka.votesTopic, fromBeginning: true });
    await within(
      new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            records.push({ partition, offset: message.offset, key: String(message.key), vote: { ...(await codec.decode(message.value!)) } });
            if (records.length >= count) resolve();
          },
        });
      }),
      { timeoutMs, what: () => `${count} records from ${config.kafka.votesTopic} (got ${records.length})` },
    );
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** The partition kafkajs's default (murmur2) partitioner picks for `key`. */
export function partitionOfKey(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
  return kafkajs.Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key, value: null } });
}

/** Records in the votes topic: the sum of its partitions' high watermarks (the topic is never compacted). */
export async function topicRecordCount(config: TallyConfig): Promise<number> {
  const offsets = await withAdmin(config, (admin) => admin.fetchTopicOffsets(config.kafka.votesTopic));
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** A hand-made HS256 token, for claims mintToken never produces (expired, wrong scope, wrong secret). */
export function signToken(secret: string, claims: object): string {
  const input = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
