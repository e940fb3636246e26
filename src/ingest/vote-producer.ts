// The votes topic's producer: many HTTP requests → one producer.send. A vote waits in the queue
// for at most `lingerMs` when the producer is idle; while a send is in flight the queue fills and
// goes out as the next batch the moment the ack arrives, so batches grow with load and the path
// is never one broker round trip per vote.
//
// Each message gets its partition here (kafkajs's Java-compatible murmur2 DefaultPartitioner over
// the topic's partitions), so the ack's baseOffset per partition + the message's index among that
// partition's messages in the send is its exact offset.
//
// Kafka down: start() does not wait for Kafka; until connected (and while reconnecting after a
// failed send) `available` is false and send() rejects at once with TALLY_ERR_UNAVAILABLE, so the
// route answers 503 quickly. A failed send rejects its whole batch and replaces the producer: a
// fresh idempotent producer gets a fresh producer id, so no sequence number of the failed batch is
// ever reused for other records.
//
// Two kinds of failure, because the caller must treat them differently (vote-caster.ts):
// - TALLY_ERR_UNAVAILABLE / TALLY_ERR_OVERLOADED: the record never reached kafkajs (not connected,
//   queue full, connection lost while queued): it is certainly not in Kafka.
// - TALLY_ERR_VOTE_OUTCOME_UNKNOWN: producer.send failed after the batch went out (a timeout, a lost
//   connection, an error after retries): some or all records may have been written.
import type { Admin, Kafka, PartitionMetadata, Producer, RecordMetadata } from 'kafkajs';
import type { TallyConfig } from '../config.js';
import { isTallyError, TallyError } from '../errors.js';
import { ensureTopics, Partitioners } from '../kafka.js';
import type { Logger } from '../logger.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { installFastProduceEncoder } from './kafka-produce-encoder.js';

/**
 * Before any producer of this process sends: kafkajs loads its produce request encoder on the first
 * send, and the vote batches are then written by kafka-produce-encoder.ts (same bytes, a fraction
 * of the CPU). False if kafkajs's layout is not the expected one: kafkajs then encodes them itself.
 */
const fastProduceEncoder = installFastProduceEncoder();

export interface ProducedVote {
  partition: number;
  /** Decimal string: Kafka offsets are int64. */
  offset: string;
}

export interface VoteProducerOptions {
  /** Most messages per producer.send. kafkajs groups a send's messages per partition in O(n²), so keep this moderate. */
  maxBatch: number;
  /** How long an idle producer waits for more votes before sending. */
  lingerMs: number;
  /** Queued votes beyond this are refused with 503 (back-pressure instead of unbounded memory). */
  maxQueued: number;
}

export const defaultVoteProducerOptions: VoteProducerOptions = { maxBatch: 500, lingerMs: 2, maxQueued: 20_000 };

interface Pending {
  key: Buffer;
  value: Buffer;
  partition: number;
  resolve: (produced: ProducedVote) => void;
  reject: (error: unknown) => void;
}

/** Bounded, so a dead broker fails a send within ~1 s instead of retrying forever. */
const SEND_RETRY = { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 };
const CONNECT_RETRY = { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 };
const RECONNECT_BACKOFF_MS = { first: 250, max: 5000 };

// unref: a pending reconnect must not keep a closing process alive.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Keys remembered with their bytes and partition (a key is a survey id, or survey#shard). */
const MAX_CACHED_KEYS = 100_000;

export class VoteProducer {
  private readonly topic: string;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  /** key → its bytes and partition: computed once per key, not per vote (cleared when the partition count is read again). */
  private readonly keys = new Map<string, { bytes: Buffer; partition: number }>();
  private readonly admin: Admin;
  private producer: Producer | null = null;
  private partitionMetadata: PartitionMetadata[] = [];
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null = null;
  private closing = false;
  private drained: (() => void) | null = null;
  /** Why the producer refuses to connect (TALLY_ERR_PARTITION_COUNT), null otherwise. */
  refusal: TallyError | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly config: TallyConfig,
    private readonly logger: Logger,
    private readonly metrics: IngestMetrics,
    private readonly options: VoteProducerOptions = defaultVoteProducerOptions,
    /** Throws TALLY_ERR_PARTITION_COUNT when the topic's count is not the recorded one (src/topic-partitions.ts). */
    private readonly checkPartitions: (partitions: number) => Promise<void> = async () => undefined,
  ) {
    this.topic = config.kafka.votesTopic;
    this.admin = kafka.admin({ retry: CONNECT_RETRY });
  }

  /** Starts connecting in the background; resolves when connected the first time (callers may ignore it). */
  start(): Promise<void> {
    this.connecting ??= this.connectLoop();
    return this.connecting;
  }

  /** True when a connected producer can take records. */
  get available(): boolean {
    return this.producer !== null && !this.closing;
  }

  /** Readiness: the producer is connected and the cluster answers. */
  async check(): Promise<boolean> {
    if (!this.available) return false;
    await this.admin.describeCluster();
    return true;
  }

  /** Resolves once Kafka has acknowledged the record (acks=all). */
  send(key: string, value: Buffer): Promise<ProducedVote> {
    if (!this.available) return Promise.reject(unavailable('Kafka is not connected'));
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new TallyError('TALLY_ERR_OVERLOADED', 'the produce queue is full', { retryAfterSeconds: 1 }));
    }
    let cached = this.keys.get(key);
    if (cached === undefined) {
      const bytes = Buffer.from(key);
      cached = { bytes, partition: this.partitioner({ topic: this.topic, partitionMetadata: this.partitionMetadata, message: { key: bytes, value } }) };
      if (this.keys.size >= MAX_CACHED_KEYS) this.keys.clear();
      this.keys.set(key, cached);
    }
    const { bytes, partition } = cached;
    return new Promise<ProducedVote>((resolve, reject) => {
      this.queue.push({ key: bytes, value, partition, resolve, reject });
      this.schedule();
    });
  }

  /** Sends what is queued, waits for the in-flight batch, then disconnects. Safe to call twice. */
  async close(): Promise<void> {
    if (this.queue.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        this.flush();
      });
    }
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  private schedule(): void {
    if (this.inFlight > 0) return; // the ack of the in-flight send flushes what queued meanwhile
    if (this.queue.length >= this.options.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs);
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.inFlight > 0) return;
    if (this.queue.length === 0) {
      this.drained?.();
      return;
    }
    const producer = this.producer;
    if (producer === null) {
      const orphans = this.queue;
      this.queue = [];
      for (const pending of orphans) pending.reject(unavailable('Kafka connection lost'));
      this.drained?.();
      return;
    }
    const batch = this.queue.length <= this.options.maxBatch ? this.queue : this.queue.slice(0, this.options.maxBatch);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.options.maxBatch);
    this.inFlight += 1;
    void this.produce(producer, batch).finally(() => {
      this.inFlight -= 1;
      this.flush();
    });
  }

  private async produce(producer: Producer, batch: Pending[]): Promise<void> {
    const messages = new Array(batch.length);
    for (let i = 0; i < batch.length; i += 1) {
      const pending = batch[i]!;
      messages[i] = { key: pending.key, value: pending.value, partition: pending.partition };
    }
    const stopTimer = this.metrics.produceSeconds.startTimer();
    let acks: RecordMetadata[];
    try {
      acks = await producer.send({ topic: this.topic, acks: -1, messages });
    } catch (error) {
      stopTimer();
      this.logger.error({ err: error, records: batch.length }, 'producer.send failed; replacing the producer');
      for (const pending of batch) pending.reject(outcomeUnknown('Kafka did not acknowledge the batch', error));
      this.replaceProducer(producer);
      return;
    }
    stopTimer();
    this.metrics.batchSize.observe(batch.length);
    // Next offset per partition: starts at the ack's baseOffset, one step per message in send order.
    const next = new Map<number, number>();
    for (const ack of acks) next.set(ack.partition, Number(ack.baseOffset));
    for (const pending of batch) {
      const offset = next.get(pending.partition);
      if (offset === undefined) {
        pending.reject(outcomeUnknown(`no ack for partition ${pending.partition}`));
        continue;
      }
      next.set(pending.partition, offset + 1);
      pending.resolve({ partition: pending.partition, offset: String(offset) });
    }
  }

  private replaceProducer(failed: Producer): void {
    if (this.producer !== failed) return;
    this.producer = null;
    void failed.disconnect().catch(() => undefined);
    if (!this.closing) this.connecting = this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    let backoff = RECONNECT_BACKOFF_MS.first;
    while (!this.closing) {
      let producer: Producer | null = null;
      try {
        await this.admin.connect();
        await ensureTopics(this.admin, this.config);
        const metadata = await this.admin.fetchTopicMetadata({ topics: [this.topic] });
        // Votes are pinned to partitions by this count: refuse another one than the recorded count.
        await this.checkPartitions(metadata.topics[0]!.partitions.length);
        producer = this.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: Partitioners.DefaultPartitioner,
          retry: SEND_RETRY,
        });
        await producer.connect();
        if (this.closing) {
          await producer.disconnect();
          break;
        }
        this.partitionMetadata = metadata.topics[0]!.partitions;
        this.keys.clear();
        this.producer = producer;
        this.logger.info({ topic: this.topic, partitions: this.partitionMetadata.length, fastProduceEncoder }, 'vote producer connected');
        return;
      } catch (error) {
        await producer?.disconnect().catch(() => undefined);
        this.refusal = isTallyError(error, 'TALLY_ERR_PARTITION_COUNT') ? error : null;
        if (this.refusal) this.logger.error({ err: error, retryInMs: backoff }, 'refusing to produce votes: the topic\'s partition count changed');
        else this.logger.warn({ err: error, retryInMs: backoff }, 'Kafka unavailable; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, RECONNECT_BACKOFF_MS.max);
      }
    }
    // Closed while connecting: close() already disconnected the admin, but a call of this loop may
    // have connected it again since; it must not keep the process alive.
    await this.admin.disconnect().catch(() => undefined);
  }
}

function unavailable(detail: string, cause?: unknown): TallyError {
  return new TallyError('TALLY_ERR_UNAVAILABLE', detail, { cause, retryAfterSeconds: 1 });
}

function outcomeUnknown(detail: string, cause?: unknown): TallyError {
  return new TallyError('TALLY_ERR_VOTE_OUTCOME_UNKNOWN', detail, { cause, retryAfterSeconds: 1 });
}
