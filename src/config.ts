// Configuration comes only from environment variables, validated once at start-up.
// Defaults point at the local stack (stack/stack.sh); every bad value fails fast with a message
// naming the variable, so a typo never turns into a confusing connection error later.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { TallyError } from './errors.js';

const hostPort = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

const port = z.coerce
  .number({ message: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

const positiveInt = z.coerce.number({ message: 'must be a number' }).int('must be an integer').positive('must be > 0');

const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol.replace(':', ''));
    } catch {
      return false;
    }
  }, `must be a ${protocols.join(' or ')} URL`);

const brokerList = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()).filter(Boolean))
  .refine((brokers) => brokers.length > 0 && brokers.every((broker) => hostPort.test(broker)), {
    message: 'must be a comma-separated list of host:port',
  });

const DEV_ADMIN_SECRET = 'dev-only-admin-secret-change-me';
const DEV_VOTER_SECRET = 'dev-only-voter-secret-change-me';
const DEV_HMAC_SECRET = 'dev-only-voter-hmac-secret-change-me';

/** Environment variable → schema. The names are the contract documented in the README. */
const envSchema = z.object({
  TALLY_ENV: z.enum(['development', 'test', 'production']).default('development'),
  TALLY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TALLY_HOST: z.string().min(1).default('127.0.0.1'),

  TALLY_KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  TALLY_KAFKA_CLIENT_ID: z.string().min(1).default('tally'),
  TALLY_VOTES_TOPIC: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a valid Kafka topic name').default('votes'),
  TALLY_DLQ_TOPIC: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a valid Kafka topic name').default('votes.dlq'),
  TALLY_VOTES_PARTITIONS: positiveInt.default(6),
  TALLY_CONSUMER_GROUP: z.string().min(1).default('tally-aggregate'),
  // Unset: decided when the topic is created, from the cluster's size (src/topic-replication.ts).
  TALLY_KAFKA_REPLICATION_FACTOR: positiveInt.max(32, 'must be ≤ 32').optional(),
  TALLY_KAFKA_MIN_INSYNC_REPLICAS: positiveInt.max(32, 'must be ≤ 32').optional(),
  TALLY_REGISTRY_URL: url(['http', 'https']).default('http://127.0.0.1:8081/apis/ccompat/v7'),

  TALLY_PG_URL: url(['postgres', 'postgresql']).default('postgres://tally_app:tally_app@127.0.0.1:5432/tally'),
  TALLY_PG_ADMIN_URL: url(['postgres', 'postgresql']).default('postgres://tally_admin:tally_admin@127.0.0.1:5432/tally'),
  TALLY_REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),

  TALLY_INGEST_PORT: port.default(3000),
  TALLY_INGEST_PROCESSES: positiveInt.default(availableParallelism()),
  TALLY_BROADCAST_PORT: port.default(3001),
  TALLY_AGGREGATE_PORT: port.default(3002),

  TALLY_DATA_DIR: z.string().min(1).default('.data'),
  TALLY_WORKER_THREADS: positiveInt.default(2),
  TALLY_CHECKPOINT_EVERY: positiveInt.default(10_000),
  TALLY_PARTIALS_CHECK_MS: positiveInt.default(5000),
  TALLY_SCHEMA_NOT_FOUND_GRACE_MS: z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(0, 'must be >= 0').default(10_000),
  // The broker refuses a session timeout below its group.min.session.timeout.ms (6000 by default).
  TALLY_AGGREGATE_SESSION_TIMEOUT_MS: positiveInt.min(1000, 'must be ≥ 1000').default(6000),

  TALLY_WINDOW_MS: positiveInt.default(1000),
  TALLY_SSE_MAX_CONNECTIONS: positiveInt.default(18_000),
  TALLY_SSE_MAX_PER_IP: positiveInt.default(1000),
  TALLY_SSE_HEARTBEAT_MS: positiveInt.default(15_000),
  TALLY_SSE_SLOW_BYTES: positiveInt.default(256 * 1024),
  TALLY_SSE_WRITE_PATH: z.enum(['batch', 'direct', 'socket', 'plugin']).default('batch'),
  TALLY_BROADCAST_TARGET_CLIENTS: positiveInt.default(18_000),

  TALLY_ADMIN_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_ADMIN_SECRET),
  TALLY_VOTER_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_VOTER_SECRET),
  TALLY_VOTER_HMAC_SECRET: z.string().min(16, 'must be at least 16 characters').default(DEV_HMAC_SECRET),
  TALLY_RATE_LIMIT_PER_IP: positiveInt.default(6000),
  TALLY_RATE_LIMIT_PER_VOTER: positiveInt.default(60),
  TALLY_RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  TALLY_BODY_LIMIT_BYTES: positiveInt.default(16 * 1024),
});

type Env = z.infer<typeof envSchema>;

export interface TallyConfig {
  env: Env['TALLY_ENV'];
  logLevel: Env['TALLY_LOG_LEVEL'];
  host: string;
  kafka: {
    brokers: string[];
    clientId: string;
    votesTopic: string;
    dlqTopic: string;
    partitions: number;
    consumerGroup: string;
    /** Replicas of a newly created topic; undefined = min(3, brokers in the cluster). */
    replicationFactor?: number;
    /** min.insync.replicas of a newly created topic; undefined = 2 with 3 replicas or more, else 1. */
    minInsyncReplicas?: number;
  };
  registryUrl: string;
  /** How long the registry must answer 404 for a writer schema id before its records are invalid (docs/counting-rules.md). */
  schemaNotFoundGraceMs: number;
  postgres: { url: string; adminUrl: string };
  redisUrl: string;
  ports: { ingest: number; broadcast: number; aggregate: number };
  ingest: { processes: number };
  aggregate: {
    dataDir: string;
    workerThreads: number;
    checkpointEvery: number;
    /** How often each owned partition compares its Redis status with its store (and republishes). */
    partialsCheckMs: number;
    /** The aggregator's consumer session: how long a killed member's partitions wait (consumer-settings.ts). */
    sessionTimeoutMs: number;
  };
  broadcast: {
    windowMs: number;
    maxConnections: number;
    maxPerIp: number;
    heartbeatMs: number;
    slowClientBytes: number;
    /** How snapshots reach sockets: subscriber-transport.ts. */
    writePath: 'batch' | 'direct' | 'socket' | 'plugin';
    targetClients: number;
  };
  secrets: { admin: string; voter: string; voterHmac: string };
  limits: { perIp: number; perVoter: number; windowMs: number; bodyBytes: number };
}

/** Parses and validates the environment; throws TALLY_ERR_CONFIG naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): TallyConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const value = source[name];
      return `${name}=${JSON.stringify(value)} ${issue.message}`;
    });
    throw new TallyError('TALLY_ERR_CONFIG', problems.join('; '));
  }
  const env = parsed.data;
  if (env.TALLY_KAFKA_MIN_INSYNC_REPLICAS !== undefined && env.TALLY_KAFKA_REPLICATION_FACTOR !== undefined && env.TALLY_KAFKA_MIN_INSYNC_REPLICAS > env.TALLY_KAFKA_REPLICATION_FACTOR) {
    throw new TallyError(
      'TALLY_ERR_CONFIG',
      `TALLY_KAFKA_MIN_INSYNC_REPLICAS=${env.TALLY_KAFKA_MIN_INSYNC_REPLICAS} must be ≤ TALLY_KAFKA_REPLICATION_FACTOR=${env.TALLY_KAFKA_REPLICATION_FACTOR} (no write could ever be acknowledged)`,
    );
  }
  if (env.TALLY_ENV === 'production') {
    const defaults: string[] = [];
    if (env.TALLY_ADMIN_SECRET === DEV_ADMIN_SECRET) defaults.push('TALLY_ADMIN_SECRET');
    if (env.TALLY_VOTER_SECRET === DEV_VOTER_SECRET) defaults.push('TALLY_VOTER_SECRET');
    if (env.TALLY_VOTER_HMAC_SECRET === DEV_HMAC_SECRET) defaults.push('TALLY_VOTER_HMAC_SECRET');
    if (defaults.length > 0) {
      throw new TallyError('TALLY_ERR_CONFIG', `${defaults.join(', ')} must be set in production (the development default is public)`);
    }
  }
  return {
    env: env.TALLY_ENV,
    logLevel: env.TALLY_LOG_LEVEL,
    host: env.TALLY_HOST,
    kafka: {
      brokers: env.TALLY_KAFKA_BROKERS,
      clientId: env.TALLY_KAFKA_CLIENT_ID,
      votesTopic: env.TALLY_VOTES_TOPIC,
      dlqTopic: env.TALLY_DLQ_TOPIC,
      partitions: env.TALLY_VOTES_PARTITIONS,
      consumerGroup: env.TALLY_CONSUMER_GROUP,
      ...(env.TALLY_KAFKA_REPLICATION_FACTOR !== undefined ? { replicationFactor: env.TALLY_KAFKA_REPLICATION_FACTOR } : {}),
      ...(env.TALLY_KAFKA_MIN_INSYNC_REPLICAS !== undefined ? { minInsyncReplicas: env.TALLY_KAFKA_MIN_INSYNC_REPLICAS } : {}),
    },
    registryUrl: env.TALLY_REGISTRY_URL,
    schemaNotFoundGraceMs: env.TALLY_SCHEMA_NOT_FOUND_GRACE_MS,
    postgres: { url: env.TALLY_PG_URL, adminUrl: env.TALLY_PG_ADMIN_URL },
    redisUrl: env.TALLY_REDIS_URL,
    ports: { ingest: env.TALLY_INGEST_PORT, broadcast: env.TALLY_BROADCAST_PORT, aggregate: env.TALLY_AGGREGATE_PORT },
    ingest: { processes: env.TALLY_INGEST_PROCESSES },
    aggregate: {
      dataDir: env.TALLY_DATA_DIR,
      workerThreads: env.TALLY_WORKER_THREADS,
      checkpointEvery: env.TALLY_CHECKPOINT_EVERY,
      partialsCheckMs: env.TALLY_PARTIALS_CHECK_MS,
      sessionTimeoutMs: env.TALLY_AGGREGATE_SESSION_TIMEOUT_MS,
    },
    broadcast: {
      windowMs: env.TALLY_WINDOW_MS,
      maxConnections: env.TALLY_SSE_MAX_CONNECTIONS,
      maxPerIp: env.TALLY_SSE_MAX_PER_IP,
      heartbeatMs: env.TALLY_SSE_HEARTBEAT_MS,
      slowClientBytes: env.TALLY_SSE_SLOW_BYTES,
      writePath: env.TALLY_SSE_WRITE_PATH,
      targetClients: env.TALLY_BROADCAST_TARGET_CLIENTS,
    },
    secrets: { admin: env.TALLY_ADMIN_SECRET, voter: env.TALLY_VOTER_SECRET, voterHmac: env.TALLY_VOTER_HMAC_SECRET },
    limits: {
      perIp: env.TALLY_RATE_LIMIT_PER_IP,
      perVoter: env.TALLY_RATE_LIMIT_PER_VOTER,
      windowMs: env.TALLY_RATE_LIMIT_WINDOW_MS,
      bodyBytes: env.TALLY_BODY_LIMIT_BYTES,
    },
  };
}
