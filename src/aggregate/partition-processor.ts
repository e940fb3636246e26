// One partition's batch path on its worker thread, exactly once: docs/counting-rules.md applied to
// each record in offset order, and ONE synced store write per batch holding every changed key AND
// the new position, so after a crash the store is exactly "the log below next offset, applied once".
//
//   process(batch)
//     position    skip records below nextOffset; a batch starting above it is a gap (the consumer
//                 seeks back to nextOffset)
//     schemas     resolve writer schema ids new to this thread (registry), before anything changes
//     read        record-reader.ts: chain every record, Merkle leaf of every record; decode + structural rules → vote or DLQ entry
//                 (in slices of ROWS_PER_SLICE rows: the thread's other partitions get a turn in between)
//     ledger      voters memory knows are counted at once; the others wait for one lookup of the
//                 batch's unknown voters (voter-ledger.ts)
//     count       apply-votes.ts: applyVote per vote, in offset order, on PartitionState
//     persist     changed keys + checkpoint step (checkpoint-step.ts) + position → one write batch
//     hold        invalid records? return them (needs-dlq) and keep the write until `commitHeld`,
//                 so the DLQ entries exist before the write that moves past them
//   commitHeld()  the synced write, then the partials of the changed surveys (publishPartials)
//
// Partials are republished whole (every survey of the partition) when the partition is opened and
// whenever the publisher's status is missing or behind the store (refreshPartials, run by the main
// thread every TALLY_PARTIALS_CHECK_MS): a durable write whose publish was lost (kill -9 between the
// two, a Redis error) or a Redis that lost its data must never leave a partial stale.
//
// If any step fails, memory may be ahead of the store: the worker closes this processor and the
// partition is reopened from the store (partition-lifecycle.ts). Memory is never trusted beyond
// the last durable write.
import { isTallyError, TallyError } from '../errors.js';
import type { SurveyPartial } from '../partition-tally.js';
import type { VoteCast } from '../vote-codec.js';
import { applyVote } from './apply-votes.js';
import { checkpointDue, confirmCheckpoints, takeCheckpoint } from './checkpoint-step.js';
import { PackedRecords } from './packed-batch.js';
import type { PartialPublisher } from './partial-publisher.js';
import type { PartitionStore, StoreWriteBatch } from './partition-store.js';
import { PartitionState } from './partition-state.js';
import type { RecordReader } from './record-reader.js';
import type { SurveyTally } from './survey-tally.js';
import type { WriterSchemas } from './writer-schemas.js';
import type { BatchResult, CheckpointRow, DlqRecord, OutcomeCounts, PackedBatch, WrittenResult } from './worker-messages.js';

export interface ProcessorContext {
  topic: string;
  partition: number;
  checkpointEvery: number;
  reader: RecordReader;
  schemas: WriterSchemas;
  publisher: PartialPublisher;
  /** The votes topic's Kafka id (src/topic-id.ts), stored with the position; undefined: not checked. */
  topicId?: string;
}

/**
 * Rows read between two turns given to the thread's other tasks (~15 ms): the partitions pinned to
 * a thread share it, and a batch read in one go held up the others' short steps (a held write's
 * commit, its fsync and Redis publish) for a whole batch — in the 1M bench the commit step of a
 * partition waited ~0.3-0.4 s behind the other partitions' batches on its thread. Safe: the steps
 * of one partition never interleave (the main thread chains them), so only other partitions' tasks
 * run in between.
 */
const ROWS_PER_SLICE = 2048;
const otherTasksFirst = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the record loop of one batch found (so far). */
interface ReadRows {
  /** The chain head after the batch's last record (latin1). */
  head: string;
  votes: number;
  /** Votes counted in the loop that were accepted. */
  accepted: number;
  /** Votes not counted yet: their voters are read from the store first (null: none). */
  waiting: VoteCast[] | null;
}

/** A prepared batch whose write waits for its DLQ entries to be produced. */
interface HeldWrite {
  batch: StoreWriteBatch;
  touched: Set<string>;
  /** Every partial was published at the position before this batch. */
  partialsCurrent: boolean;
  result: Omit<WrittenResult, 'writeSeconds' | 'partialsBehind'>;
}

function topicIdMismatch(context: ProcessorContext, stored: string): TallyError {
  return new TallyError(
    'TALLY_ERR_TOPIC_ID',
    `partition ${context.partition} of topic ${context.topic}: ${stored}, but the topic now has id ${context.topicId} (deleted and recreated?); the partition is stopped`,
  );
}

export class PartitionProcessor {
  private held: HeldWrite | null = null;
  /**
   * Every survey's partial is known to be published at least at this offset. Below the store's
   * nextOffset means some partial may be stale (its publish failed, or Redis lost it).
   */
  private publishedThrough = 0;

  private constructor(
    readonly store: PartitionStore,
    readonly state: PartitionState,
    private readonly context: ProcessorContext,
  ) {}

  /** Loads the partition's state from `store` (which the processor then owns and closes). */
  /**
   * Then republishes every survey's partial at the stored position: the publish of the last write
   * before a crash may have been lost. A publish failure does not fail the open (the state is
   * right); `partialsBehind` says so and refreshPartials tries again.
   */
  static async open(store: PartitionStore, context: ProcessorContext): Promise<PartitionProcessor> {
    let processor: PartitionProcessor;
    try {
      const state = await PartitionState.load(store);
      if (context.topicId !== undefined) {
        if (state.topicId !== undefined && state.topicId !== context.topicId) {
          throw topicIdMismatch(context, `RocksDB holds the state up to offset ${state.nextOffset} of topic id ${state.topicId}`);
        }
        state.topicId = context.topicId; // written with the next write (stores from before ids were kept adopt it)
      }
      processor = new PartitionProcessor(store, state, context);
      await processor.checkStatusTopicId().catch((error: unknown) => {
        if (isTallyError(error, 'TALLY_ERR_TOPIC_ID')) throw error; // Redis unreachable: checked again by refreshPartials
      });
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
    await processor.republishAll().catch(() => undefined);
    return processor;
  }

  /** Records below the stored position whose partials are not known to be published (0: all current). */
  get partialsBehind(): number {
    return this.state.nextOffset - this.publishedThrough;
  }

  /**
   * Compares the publisher's status of this partition with the store; when it is missing or behind
   * (or an earlier publish failed), republishes every survey. Returns how many records the partials
   * were behind before the repair; throws if the publisher cannot be reached.
   */
  async refreshPartials(): Promise<number> {
    if (this.held) throw new Error(`partition ${this.context.partition}: a held write must be committed first`);
    const status = await this.checkStatusTopicId();
    const published = status === null ? 0 : Math.min(Number(status.nextOffset), this.publishedThrough);
    const behind = this.state.nextOffset - published;
    if (behind > 0) {
      this.publishedThrough = published;
      await this.republishAll();
    }
    return behind;
  }

  /** The publisher's status of this partition; TALLY_ERR_TOPIC_ID if it is of another topic id. */
  private async checkStatusTopicId(): Promise<Awaited<ReturnType<PartialPublisher['status']>>> {
    const status = await this.context.publisher.status(this.context.partition);
    if (status?.topicId !== undefined && this.context.topicId !== undefined && status.topicId !== this.context.topicId) {
      throw topicIdMismatch(this.context, `Redis holds partials up to offset ${status.nextOffset} of topic id ${status.topicId} (written by ${status.instance})`);
    }
    return status;
  }

  /** Every survey's partial at the current (durable) position. */
  private async republishAll(): Promise<void> {
    if (this.state.nextOffset === 0) return;
    await this.publishPartials(this.state.surveys.keys(), Date.now());
    this.publishedThrough = this.state.nextOffset;
  }

  get nextOffset(): number {
    return this.state.nextOffset;
  }

  /** True when the store had no state: the partition is rebuilt by replaying the topic from 0. */
  get isFresh(): boolean {
    return this.state.nextOffset === 0;
  }

  pendingCheckpointRows(): CheckpointRow[] {
    return [...this.state.pendingCheckpoints.values()];
  }

  outcomeCounts(): OutcomeCounts {
    return { ...this.state.outcomes };
  }

  surveyTallies(): ReadonlyMap<string, SurveyTally> {
    return this.state.surveys;
  }

  async process(batch: PackedBatch): Promise<BatchResult> {
    if (this.held) throw new Error(`partition ${this.context.partition}: a held write must be committed first`);
    const { state, context } = this;
    const records = new PackedRecords(batch);
    const first = records.firstRowFrom(state.nextOffset);
    if (first === records.rows) return { kind: 'skipped', nextOffset: String(state.nextOffset) };
    if (records.offset(first) > state.nextOffset) return { kind: 'gap', nextOffset: String(state.nextOffset) };

    const unknown = context.reader.unresolvedSchemaIds(records, first);
    if (unknown) await context.schemas.resolve(unknown);

    // read and count (from the first count on, memory is ahead of the store until the write lands)
    const partialsCurrent = this.publishedThrough === state.nextOffset;
    const dlq: DlqRecord[] = [];
    const read: ReadRows = { head: state.head.toString('latin1'), votes: 0, accepted: 0, waiting: null };
    for (let from = first; from < records.rows; from += ROWS_PER_SLICE) {
      if (from > first) await otherTasksFirst();
      this.readRows(records, from, Math.min(records.rows, from + ROWS_PER_SLICE), dlq, read);
    }
    const { head, votes } = read;
    let { accepted } = read;
    if (read.waiting !== null) {
      await state.ledger.load(this.store);
      for (let i = 0; i < read.waiting.length; i++) if (applyVote(state, read.waiting[i]!) === 'accepted') accepted++;
    }
    const outcomes: OutcomeCounts = { accepted, duplicate: votes - accepted, invalid: dlq.length };
    const lastOffset = records.offset(records.rows - 1);
    state.nextOffset = lastOffset + 1;
    state.head = Buffer.from(head, 'latin1');
    state.outcomes.accepted += outcomes.accepted;
    state.outcomes.duplicate += outcomes.duplicate;
    state.outcomes.invalid += outcomes.invalid;

    // persist: changed keys, the checkpoint step, the position — one write batch
    const write = this.store.batch();
    const touched = state.touched();
    state.writeChanges(write);
    const checkpoint = checkpointDue(state, lastOffset, context.checkpointEvery) ? takeCheckpoint(state, context.topic, context.partition, lastOffset, write) : null;
    state.writePosition(write);
    state.ledger.endBatch();

    this.held = {
      batch: write,
      touched,
      partialsCurrent,
      result: { kind: 'written', nextOffset: String(state.nextOffset), outcomes, records: records.rows - first, checkpoint },
    };
    if (dlq.length > 0) return { kind: 'needs-dlq', dlq };
    return this.commitHeld();
  }

  /**
   * The record loop over rows [from, to), continuing `read` (a batch is read in slices of
   * ROWS_PER_SLICE): the chain over every record, votes (or DLQ entries) in offset order. A vote
   * whose voter the ledger knows is counted at once (no vote outlives its record: less for the young
   * GC to copy); from the first voter that must be read from the store on, votes wait in `waiting`
   * for the one lookup and are counted after it, still in offset order. A method of its own so V8
   * optimizes the loop apart from the batch's rarer steps (in `process`, each batch's first pass
   * through the steps after the loop deoptimized the loop's code: --trace-deopt).
   */
  private readRows(records: PackedRecords, from: number, to: number, dlq: DlqRecord[], read: ReadRows): void {
    const { state } = this;
    const { reader } = this.context;
    const { merkle, ledger } = state;
    let { head, waiting, votes, accepted } = read;
    for (let row = from; row < to; row++) {
      head = reader.chain(records, row, head);
      merkle?.pushDigest(reader.leafDigest(records, row));
      const vote = reader.read(records, row, dlq);
      if (vote === null) continue;
      votes++;
      if (!ledger.want(vote.surveyId, vote.voterId) || waiting !== null) (waiting ??= []).push(vote);
      else if (applyVote(state, vote) === 'accepted') accepted++;
    }
    read.head = head;
    read.waiting = waiting;
    read.votes = votes;
    read.accepted = accepted;
  }

  /** The held batch's synced write, then the partials of the surveys it changed. */
  async commitHeld(): Promise<WrittenResult> {
    const held = this.held;
    if (!held) throw new Error(`partition ${this.context.partition}: no held write to commit`);
    this.held = null;
    const started = performance.now();
    await held.batch.write(true);
    const writeSeconds = (performance.now() - started) / 1000;
    if (held.result.checkpoint) this.state.pendingCheckpoints.set(held.result.checkpoint.lastOffset, held.result.checkpoint);
    // Untouched surveys' partials stay current; if this publish fails they all need republishing.
    const previous = this.publishedThrough;
    this.publishedThrough = Math.min(previous, Number(held.result.nextOffset) - held.result.records);
    await this.publishPartials(held.partialsCurrent ? held.touched : this.state.surveys.keys(), Date.now());
    this.publishedThrough = this.state.nextOffset;
    return { ...held.result, writeSeconds, partialsBehind: this.partialsBehind };
  }

  /**
   * Publishes the absolute partials of `surveyIds` at the current (durable) position. Values are
   * absolute, so publishing again is harmless.
   */
  async publishPartials(surveyIds: Iterable<string>, writtenAt: number): Promise<void> {
    const { state } = this;
    const nextOffset = String(state.nextOffset);
    const partials: Array<[string, string]> = [];
    for (const surveyId of surveyIds) {
      const tally = state.surveys.get(surveyId)!;
      const partial: SurveyPartial = {
        surveyId,
        partition: this.context.partition,
        nextOffset,
        responses: tally.responses,
        votes: tally.votes,
        regions: tally.regions,
        minutes: state.minutes.get(surveyId)?.recent() ?? {},
        lastCastAt: tally.lastCastAt,
        writtenAt,
      };
      partials.push([surveyId, JSON.stringify(partial)]);
    }
    await this.context.publisher.publish(this.context.partition, nextOffset, writtenAt, partials);
  }

  /** A checkpoint of everything since the previous one (graceful shutdown); null if nothing new. */
  async checkpointNow(): Promise<CheckpointRow | null> {
    if (this.held) throw new Error(`partition ${this.context.partition}: a held write must be committed first`);
    const { state } = this;
    const lastOffset = state.nextOffset - 1;
    if (lastOffset < state.checkpointFrom) return null;
    const write = this.store.batch();
    const row = takeCheckpoint(state, this.context.topic, this.context.partition, lastOffset, write);
    await write.write(true);
    state.pendingCheckpoints.set(row.lastOffset, row);
    return row;
  }

  /** The rows are in PostgreSQL: forget them (not synced: re-inserting after a crash is harmless). */
  async confirmCheckpoints(lastOffsets: readonly string[]): Promise<void> {
    const write = this.store.batch();
    confirmCheckpoints(this.state, lastOffsets, write);
    if (write.length > 0) await write.write(false);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
