// The main thread's view of the partitions this process owns, and the batch path through them.
// Each partition moves through the states of partition-lifecycle.ts (opening → replaying /
// applying → holding-for-dlq → … → closed, failed → reopen); every step of a partition runs on its
// own promise chain, so an assignment change never overlaps a batch of the same partition.
//
// Batch path (src/aggregate/README.md draws it):
//   fetch (kafkajs) → pack → worker (chain, decode, count) → [DLQ produce → commit] → synced write
//   and Redis (in the worker) → Kafka commit of the stored next offset (for lag tools; the next batch
//   does not wait for it).
// On assignment the consumer seeks to the offset stored in RocksDB, never the group's commit.
//
// Pipelining: kafkajs only fetches again when eachBatch returns, so eachBatch queues the batch on
// the partition's chain and returns at once (resolving its offsets), up to MAX_QUEUED_BATCHES per
// partition; the next fetch overlaps the worker, the fsync and Redis. Nothing here depends on
// kafkajs' position: RocksDB's next offset decides what counts, a batch below it is skipped and a
// batch past it makes us seek back, so a failed or lost queued batch is simply fetched again.
import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { TallyConfig } from '../config.js';
import type { Pool } from '../db/postgres.js';
import { errorCatalogue } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AggregateMetrics } from './aggregate-metrics.js';
import { insertCheckpoints } from './checkpoint-sink.js';
import { produceToDlq } from './dlq-producer.js';
import { packBatch } from './packed-batch.js';
import { PartitionFailure, PartitionLifecycle } from './partition-lifecycle.js';
import type { WorkerSlots } from './worker-slots.js';
import type { BatchResult, CheckpointResult, CheckpointRow, OpenResult, RefreshResult, WrittenResult } from './worker-messages.js';

const PROGRESS_LOG_MS = 5000;
const MAX_QUEUED_BATCHES = 2;
/** After a failure, wait this long before the partition tries again (e.g. registry down). */
const RETRY_DELAY_MS = 1000;

class OwnedPartition {
  readonly lifecycle: PartitionLifecycle;
  nextOffset = 0;
  /** Batches queued on the chain and not done yet, oldest first (each settles when its step does). */
  readonly batches: Promise<unknown>[] = [];
  retryAt = 0;
  lastProgressLog = 0;
  /** Stopped for good (TALLY_ERR_TOPIC_ID): fetching paused, nothing counted until a restart. */
  stopped = false;
  /** A refresh-partials step is queued on the chain (never more than one). */
  refreshQueued = false;
  /** A Kafka offset commit is in flight; `commitNext` is the newer offset to commit after it. */
  committing = false;
  commitNext: string | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly partition: number) {
    this.lifecycle = new PartitionLifecycle(partition);
  }

  /** Runs `step` after every step queued before it; a failed step does not block the next. */
  enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.tail.then(step);
    this.tail = result.catch(() => undefined);
    return result;
  }

  idle(): Promise<unknown> {
    return this.tail;
  }
}

export interface OwnedPartitionsDeps {
  config: TallyConfig;
  logger: Logger;
  metrics: AggregateMetrics;
  slots: WorkerSlots;
  consumer: Consumer;
  producer: Producer;
  pg: Pool;
  /** Bytes one DLQ send may carry (below the DLQ topic's max.message.bytes: dlqBatchLimit). */
  dlqMaxBytes: number;
}

export class OwnedPartitions {
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly topic: string;

  constructor(private readonly deps: OwnedPartitionsDeps) {
    this.topic = deps.config.kafka.votesTopic;
  }

  /** Next offset to process of every owned partition (for the lag metric). */
  positions(): Map<number, number> {
    return new Map([...this.owned].filter(([, p]) => !p.lifecycle.closed).map(([n, p]) => [n, p.nextOffset]));
  }

  /** The group's new assignment: release what went elsewhere, open (and seek) what is new. */
  async assign(partitions: readonly number[]): Promise<void> {
    const wanted = new Set(partitions);
    const steps: Promise<unknown>[] = [];
    for (const partition of [...this.owned.keys()]) if (!wanted.has(partition)) steps.push(this.release(partition, false));
    for (const partition of wanted) if (!this.owned.has(partition)) steps.push(this.open(partition));
    await Promise.all(steps);
  }

  async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const owned = this.owned.get(batch.partition) ?? this.openNow(batch.partition);
    const step = owned.enqueue(() => this.processBatch(owned, payload)).finally(() => {
      // A block, not `() => owned.batches.shift()`: finally() waits for a promise its callback
      // returns, and the one shifted out settles only after this step (a deadlock).
      owned.batches.shift();
    });
    owned.batches.push(step.catch(() => undefined));
    payload.resolveOffset(batch.lastOffset());
    // Too many batches waiting: wait for the oldest one only, so the partition's queue never runs
    // dry while kafkajs fetches and decodes the next batch (waiting for this one, the newest, left
    // the partition's worker idle from the end of its queue until the next fetch was decoded).
    if (owned.batches.length > MAX_QUEUED_BATCHES) await owned.batches[0];
  }

  private async processBatch(owned: OwnedPartition, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { lifecycle } = owned;
    if (lifecycle.closed || owned.stopped) return;
    const wait = owned.retryAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (lifecycle.state === 'failed') await this.reopen(owned);
    let during: PartitionFailure['during'] = 'batch';
    try {
      const started = performance.now();
      const packed = packBatch(batch.messages, owned.nextOffset);
      if (!packed) {
        // Redelivered records, all below the stored offset: jump to where we are.
        if (Number(batch.lastOffset()) + 1 < owned.nextOffset) this.seek(owned, owned.nextOffset);
        return;
      }
      let result = await this.deps.slots.run<BatchResult>({ kind: 'batch', partition: owned.partition, batch: packed }, [
        packed.bytes.buffer as ArrayBuffer,
        packed.index.buffer as ArrayBuffer,
      ]);
      if (result.kind === 'gap') {
        // Records past our stored offset (kafkajs started from the group's commit, e.g. the partition
        // came from an instance with other local state, or an earlier queued batch failed): go back.
        // Offsets of the votes topic are contiguous (no transactions, no compaction), so a gap that
        // persists after the seek is a misconfiguration, and it stops the partition rather than
        // skipping records.
        this.seek(owned, Number(result.nextOffset));
        return;
      }
      if (result.kind === 'skipped') return;
      if (result.kind === 'needs-dlq') {
        lifecycle.holdForDlq();
        during = 'dlq-produce';
        await produceToDlq(this.deps.producer, this.deps.config.kafka.dlqTopic, owned.partition, result.dlq, this.deps.dlqMaxBytes);
        this.deps.metrics.votes.inc({ outcome: 'dlq' }, result.dlq.length);
        during = 'commit';
        result = await this.deps.slots.run<WrittenResult>({ kind: 'commit', partition: owned.partition });
        lifecycle.committed();
      }
      // Not packed.index.length: its buffer was transferred to the worker (length 0 here).
      this.afterWrite(owned, result, payload, result.records, started);
    } catch (error) {
      throw this.failed(owned, during, error);
    }
  }

  /** Any failure of a partition: memory may be ahead of the store, so the next batch reopens it. */
  private failed(owned: OwnedPartition, during: PartitionFailure['during'], cause: unknown): PartitionFailure {
    const failure = new PartitionFailure(owned.partition, during, { cause });
    owned.lifecycle.failed();
    // Errors cross the worker boundary as plain Errors: recognised by the catalogue's message.
    if (String((cause as Error | undefined)?.message).startsWith(errorCatalogue.TALLY_ERR_TOPIC_ID.message)) {
      owned.stopped = true;
      this.deps.consumer.pause([{ topic: this.topic, partitions: [owned.partition] }]);
      this.deps.logger.error({ partition: owned.partition, code: 'TALLY_ERR_TOPIC_ID', err: cause, howToSolve: errorCatalogue.TALLY_ERR_TOPIC_ID.howToSolve }, `partition ${owned.partition} stopped: ${(cause as Error).message}`);
      return failure;
    }
    owned.retryAt = Date.now() + RETRY_DELAY_MS;
    this.deps.logger.error({ partition: owned.partition, nextOffset: owned.nextOffset, during, err: cause }, failure.message);
    this.seek(owned, owned.nextOffset);
    return failure;
  }

  /**
   * Every owned, counting partition compares its Redis status with its store and republishes its
   * partials if they are missing or behind (Redis restarted without persistence, FLUSHDB, a
   * publish lost). Runs on each partition's chain, between batches.
   */
  refreshPartials(): Promise<unknown> {
    const steps: Promise<unknown>[] = [];
    for (const owned of this.owned.values()) {
      if (owned.refreshQueued) continue;
      owned.refreshQueued = true;
      const step = owned.enqueue(async () => {
        owned.refreshQueued = false;
        const { state } = owned.lifecycle;
        if (owned.stopped || (state !== 'applying' && state !== 'replaying')) return;
        const result = await this.deps.slots.run<RefreshResult>({ kind: 'refresh-partials', partition: owned.partition });
        this.setPartialsBehind(owned, result.partialsBehind);
        if (result.foundBehind > 0) {
          this.deps.metrics.partialsRepairs.inc(this.labels(owned));
          this.deps.logger.warn({ partition: owned.partition, nextOffset: result.nextOffset, behind: result.foundBehind }, 'Redis partials were missing or behind the store: republished every survey of the partition');
        }
      });
      steps.push(
        step.catch((error: unknown) => {
          if (String((error as Error | undefined)?.message).startsWith(errorCatalogue.TALLY_ERR_TOPIC_ID.message)) this.failed(owned, 'batch', error);
          else this.deps.logger.warn({ partition: owned.partition, err: error }, 'partials refresh failed (Redis unreachable?); retried at the next check');
        }),
      );
    }
    return Promise.all(steps);
  }

  private labels(owned: OwnedPartition): { topic: string; partition: string } {
    return { topic: this.topic, partition: String(owned.partition) };
  }

  private setPartialsBehind(owned: OwnedPartition, behind: number): void {
    this.deps.metrics.partialsBehind.set(this.labels(owned), behind);
  }

  /** Graceful shutdown: after the consumer stopped, checkpoint and release every partition. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.owned.keys()].map((partition) => this.release(partition, true)));
  }

  private afterWrite(owned: OwnedPartition, result: WrittenResult, payload: EachBatchPayload, records: number, started: number): void {
    const { metrics } = this.deps;
    owned.nextOffset = Number(result.nextOffset);
    this.setPartialsBehind(owned, result.partialsBehind);
    const { outcomes } = result;
    if (outcomes.accepted) metrics.votes.inc({ outcome: 'accepted' }, outcomes.accepted);
    if (outcomes.duplicate) metrics.votes.inc({ outcome: 'duplicate' }, outcomes.duplicate);
    if (outcomes.invalid) metrics.votes.inc({ outcome: 'invalid' }, outcomes.invalid);
    metrics.writeDuration.observe(result.writeSeconds);
    metrics.batchRecords.observe(records);
    if (result.checkpoint) this.storeCheckpoints(owned, [result.checkpoint]);
    this.logProgress(owned, Number(payload.batch.highWatermark));
    this.commitToKafka(owned, result.nextOffset);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
  }

  /**
   * Commits the stored next offset to the group. The commit only informs lag tools (the stored
   * offset is the truth, the consumer seeks to it on assignment), so the partition's next batch
   * does not wait for it: at most one commit per partition is in flight, and a newer offset that
   * arrives meanwhile is committed when it returns (older ones are never sent after newer ones).
   * A failure is logged, and the next commit catches up.
   */
  private commitToKafka(owned: OwnedPartition, offset: string): void {
    owned.commitNext = offset;
    if (owned.committing) return;
    owned.committing = true;
    const send = (): void => {
      const next = owned.commitNext;
      owned.commitNext = null;
      if (next === null) {
        owned.committing = false;
        return;
      }
      void this.deps.consumer
        .commitOffsets([{ topic: this.topic, partition: owned.partition, offset: next }])
        .catch((error: unknown) => this.deps.logger.warn({ partition: owned.partition, err: error }, 'Kafka offset commit failed (state is durable; next commit catches up)'))
        .finally(send);
    };
    send();
  }

  private openNow(partition: number): OwnedPartition {
    void this.open(partition).catch(() => undefined); // errors surface through the batch's enqueue below
    return this.owned.get(partition)!;
  }

  /** A newly assigned partition: open it on its worker thread, then seek to its stored offset. */
  private open(partition: number): Promise<void> {
    const owned = new OwnedPartition(partition);
    this.owned.set(partition, owned);
    return owned.enqueue(async () => {
      try {
        await this.openOnWorker(owned, false);
      } catch (error) {
        throw this.failed(owned, 'open', error);
      }
    });
  }

  /** failed → opening: drop the worker's memory (and any held write) and load the store again. */
  private async reopen(owned: OwnedPartition): Promise<void> {
    owned.lifecycle.reopening();
    try {
      await this.openOnWorker(owned, true);
    } catch (error) {
      throw this.failed(owned, 'open', error);
    }
  }

  /**
   * Where a partition is opened: the worker loads its store, and the consumer seeks to the offset
   * stored there (never the group's commit). Rows the store still holds as pending are inserted.
   */
  private async openOnWorker(owned: OwnedPartition, reload: boolean): Promise<void> {
    const { partition } = owned;
    const opened = await this.deps.slots.run<OpenResult>({ kind: 'open', partition, reload });
    owned.nextOffset = Number(opened.nextOffset);
    this.setPartialsBehind(owned, opened.partialsBehind);
    owned.lifecycle.opened(opened.fresh);
    this.deps.logger.info(
      { partition, nextOffset: opened.nextOffset, reload },
      opened.fresh ? 'partition opened without local state: replaying the topic from offset 0' : 'partition opened: resuming from the offset stored in RocksDB',
    );
    this.seek(owned, owned.nextOffset);
    if (opened.pendingCheckpoints.length > 0) this.storeCheckpoints(owned, opened.pendingCheckpoints);
  }

  private release(partition: number, checkpoint: boolean): Promise<void> {
    const owned = this.owned.get(partition);
    if (!owned) return Promise.resolve();
    return owned.enqueue(async () => {
      const { lifecycle } = owned;
      if (lifecycle.closed) return;
      try {
        // Only a partition whose memory matches its store can checkpoint (a failed one has nothing
        // beyond its store, and its last checkpoint stands).
        if (checkpoint && (lifecycle.state === 'applying' || lifecycle.state === 'replaying')) {
          const { checkpoint: row } = await this.deps.slots.run<CheckpointResult>({ kind: 'checkpoint', partition });
          if (row) await this.insertAndConfirm(partition, [row]);
        }
      } finally {
        lifecycle.close();
        if (this.owned.get(partition) === owned) this.owned.delete(partition);
        await this.deps.slots.run({ kind: 'close', partition });
        this.deps.slots.release(partition);
        this.deps.metrics.lag.remove({ topic: this.topic, partition: String(partition) });
        this.deps.metrics.partialsBehind.remove(this.labels(owned));
        this.deps.logger.info({ partition, nextOffset: owned.nextOffset }, 'partition released');
      }
    });
  }

  /** Inserts rows after their write is durable, then (on the partition's chain) confirms them. */
  private storeCheckpoints(owned: OwnedPartition, rows: CheckpointRow[]): void {
    void insertCheckpoints(this.deps.pg, rows).then(
      () => {
        this.deps.metrics.checkpoints.inc(rows.length);
        void owned
          .enqueue(async () => {
            const { state } = owned.lifecycle;
            if (state === 'applying' || state === 'replaying') await this.deps.slots.run({ kind: 'confirm-checkpoints', partition: owned.partition, lastOffsets: rows.map((r) => r.lastOffset) });
          })
          .catch(() => undefined);
      },
      (error: unknown) => this.deps.logger.warn({ partition: owned.partition, err: error }, 'checkpoint insert failed; the row stays pending in RocksDB and is retried at start-up'),
    );
  }

  /** Shutdown path: insert and confirm inline (we are already on the partition's chain). */
  private async insertAndConfirm(partition: number, rows: CheckpointRow[]): Promise<void> {
    await insertCheckpoints(this.deps.pg, rows);
    this.deps.metrics.checkpoints.inc(rows.length);
    await this.deps.slots.run({ kind: 'confirm-checkpoints', partition, lastOffsets: rows.map((r) => r.lastOffset) });
  }

  private seek(owned: OwnedPartition, offset: number): void {
    try {
      this.deps.consumer.seek({ topic: this.topic, partition: owned.partition, offset: String(offset) });
    } catch (error) {
      // Not running yet: the first batch will find the gap and seek again.
      this.deps.logger.debug({ partition: owned.partition, err: error }, 'seek deferred');
    }
  }

  private logProgress(owned: OwnedPartition, highWatermark: number): void {
    if (!owned.lifecycle.replaying) return;
    const now = Date.now();
    if (owned.nextOffset >= highWatermark) {
      owned.lifecycle.caughtUp();
      this.deps.logger.info({ partition: owned.partition, nextOffset: owned.nextOffset }, 'replay finished: partition caught up');
      return;
    }
    if (now - owned.lastProgressLog < PROGRESS_LOG_MS) return;
    owned.lastProgressLog = now;
    const percent = Math.floor((owned.nextOffset / highWatermark) * 1000) / 10;
    this.deps.logger.info({ partition: owned.partition, nextOffset: owned.nextOffset, highWatermark, percent }, 'replaying partition');
  }
}
