// Applies docs/counting-rules.md to one partition's records, in offset order, exactly once.
//
// State lives in memory (tallies, minute buckets, chain head, next offset: loaded at open) and in
// RocksDB (everything, plus the one-vote keys, which are only read on demand). A batch becomes ONE
// synced RocksDB write holding every changed key AND the new next offset, so after a crash the
// state is exactly "the log below next offset, applied once". Records below it are skipped.
//
// Per batch:
//   1. skip records below nextOffset; refuse a batch that starts above it (the consumer re-seeks)
//   2. resolve unknown writer schema ids (registry), once per id
//   3. pass 1: hash chain over every record; decode + structural rules; collect voter keys
//   4. one getMany for the voter keys of the batch (which questions each voter answered before)
//   5. pass 2 (ordered): one-vote rules, counters, regions, minute buckets → write ops
// One-vote state is ONE key per (survey, voter) holding the questions the voter answered, so a
// record costs one lookup and at most one write, whatever its number of questions; the voter
// has a counted response exactly when the key exists.
//   6. invalid records? hold the write until main has produced them to the DLQ; else write now
//   7. synced write → publish absolute partials to Redis
// If anything fails after pass 2 started changing memory, the processor is `broken` and the worker
// reopens the partition from RocksDB: memory is never trusted beyond the last durable write.
import { hash } from 'node:crypto';
import { talliesDigest } from '../partition-tally.js';
import { VoteDecoder, type VoteCast } from '../vote-codec.js';
import { isTallyError } from '../errors.js';
import {
  CHAIN_PREFIX_BYTES,
  INDEX_STRIDE,
  I_KEY_LENGTH,
  I_KEY_START,
  I_OFFSET,
  I_VALUE_LENGTH,
  I_VALUE_START,
} from './packed-batch.js';
import {
  KEY_CHECKPOINT_FROM,
  KEY_HEAD,
  KEY_NEXT,
  KEY_OUTCOMES,
  PREFIX_CHECKPOINT,
  PREFIX_MINUTE,
  PREFIX_TALLY,
  PartitionStore,
  checkpointKey,
  minuteKey,
  parseMinuteKey,
  voterKey,
  tallyKey,
  type WriteOp,
} from './partition-store.js';
import { MinuteBuckets, countOptions, emptySurveyTally, regionOf, type SurveyTally } from './survey-tally.js';
import type { TallyPublisher } from './tally-publisher.js';
import { structuralProblem } from './vote-rules.js';
import type { WriterSchemas } from './writer-schemas.js';
import type { BatchResult, CheckpointRow, DlqRecord, OutcomeCounts, PackedBatch, WrittenResult } from './worker-messages.js';

const ZERO_HEAD = Buffer.alloc(32);
const MINUTE_MS = 60_000;
const HEADER_BYTES = 5;

export interface ProcessorContext {
  topic: string;
  partition: number;
  checkpointEvery: number;
  decoder: VoteDecoder;
  schemas: WriterSchemas;
  publisher: TallyPublisher;
}

/** A prepared batch whose write waits for its DLQ entries to be produced. */
interface HeldWrite {
  ops: WriteOp[];
  touched: Set<string>;
  result: Omit<WrittenResult, 'writeSeconds'>;
}

interface DecodedVote {
  vote: VoteCast;
  voterKey: string;
}

export class PartitionProcessor {
  nextOffset = 0;
  /** True once memory may be ahead of RocksDB without a write to match it. */
  broken = false;
  private head: Buffer = ZERO_HEAD;
  private checkpointFrom = 0;
  private readonly outcomes: OutcomeCounts = { accepted: 0, duplicate: 0, invalid: 0 };
  private readonly surveys = new Map<string, SurveyTally>();
  private readonly minutes = new Map<string, MinuteBuckets>();
  private readonly pendingCheckpoints = new Map<string, CheckpointRow>();
  private held: HeldWrite | null = null;

  private constructor(
    readonly store: PartitionStore,
    private readonly context: ProcessorContext,
  ) {}

  /** Opens the partition's RocksDB directory and loads next offset, head, tallies and buckets. */
  static async open(dir: string, context: ProcessorContext): Promise<PartitionProcessor> {
    const store = await PartitionStore.open(dir);
    try {
      const processor = new PartitionProcessor(store, context);
      await processor.load();
      return processor;
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  }

  private async load(): Promise<void> {
    const [next, head, outcomes, checkpointFrom] = await this.store.getMany([KEY_NEXT, KEY_HEAD, KEY_OUTCOMES, KEY_CHECKPOINT_FROM]);
    this.nextOffset = next === undefined ? 0 : Number(next);
    this.head = head === undefined ? ZERO_HEAD : Buffer.from(head, 'hex');
    if (outcomes !== undefined) Object.assign(this.outcomes, JSON.parse(outcomes) as OutcomeCounts);
    this.checkpointFrom = checkpointFrom === undefined ? 0 : Number(checkpointFrom);
    for (const [key, value] of await this.store.scan(PREFIX_TALLY)) this.surveys.set(key.slice(PREFIX_TALLY.length), JSON.parse(value) as SurveyTally);
    for (const [key, value] of await this.store.scan(PREFIX_MINUTE)) {
      const { surveyId, minute } = parseMinuteKey(key);
      this.bucketsOf(surveyId).add(minute, Number(value));
    }
    for (const [, value] of await this.store.scan(PREFIX_CHECKPOINT)) {
      const row = JSON.parse(value) as CheckpointRow;
      this.pendingCheckpoints.set(row.lastOffset, row);
    }
  }

  get isFresh(): boolean {
    return this.nextOffset === 0;
  }

  pendingCheckpointRows(): CheckpointRow[] {
    return [...this.pendingCheckpoints.values()];
  }

  outcomeCounts(): OutcomeCounts {
    return { ...this.outcomes };
  }

  surveyTallies(): ReadonlyMap<string, SurveyTally> {
    return this.surveys;
  }

  async process(batch: PackedBatch): Promise<BatchResult> {
    if (this.held) throw new Error(`partition ${this.context.partition}: a held write must be committed or discarded first`);
    const { index } = batch;
    const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
    const rows = index.length / INDEX_STRIDE;
    let first = 0;
    while (first < rows && index[first * INDEX_STRIDE + I_OFFSET]! < this.nextOffset) first++;
    if (first === rows) return { kind: 'skipped', nextOffset: String(this.nextOffset) };
    if (index[first * INDEX_STRIDE + I_OFFSET]! > this.nextOffset) return { kind: 'gap', nextOffset: String(this.nextOffset) };

    await this.resolveSchemaIds(bytes, index, first, rows);

    // ---- pass 1: chain, decode, validate, collect one-vote keys to look up
    this.broken = true;
    const { decoder, schemas } = this.context;
    let head = this.head;
    const decoded: Array<DecodedVote | null> = new Array(rows - first);
    const dlq: DlqRecord[] = [];
    // Voter key → the questions answered before this batch (filled by getMany) or in it.
    const answered = new Map<string, string[] | null>();
    const lookup: string[] = [];
    for (let row = first; row < rows; row++) {
      const at = row * INDEX_STRIDE;
      const offset = index[at + I_OFFSET]!;
      const valueStart = index[at + I_VALUE_START]!;
      const valueLength = index[at + I_VALUE_LENGTH]!;
      head = chainStep(bytes, head, offset, valueStart, valueLength);

      let reason: string | null = null;
      let vote: VoteCast | null = null;
      const keyLength = index[at + I_KEY_LENGTH]!;
      const keyStart = index[at + I_KEY_START]!;
      const recordKey = keyLength < 0 ? null : bytes.toString('utf8', keyStart, keyStart + keyLength);
      if (valueLength < 0) reason = 'value is null';
      else if (valueLength < HEADER_BYTES || bytes[valueStart] !== 0) reason = 'not in the Confluent wire format (magic byte 0 + schema id)';
      else {
        reason = schemas.problemWith(bytes.readUInt32BE(valueStart + 1));
        if (reason === null) {
          try {
            vote = decoder.decode(bytes.subarray(valueStart, valueStart + valueLength));
            reason = structuralProblem(vote, recordKey);
          } catch (error) {
            if (!isTallyError(error, 'TALLY_ERR_DECODE')) throw error;
            reason = error.detail ?? error.message;
          }
        }
      }
      if (reason !== null) {
        dlq.push({
          offset: String(offset),
          key: keyLength < 0 ? null : new Uint8Array(bytes.subarray(keyStart, keyStart + keyLength)),
          value: valueLength < 0 ? null : new Uint8Array(bytes.subarray(valueStart, valueStart + valueLength)),
          reason,
        });
        decoded[row - first] = null;
        continue;
      }
      const key = voterKey(vote!.surveyId, vote!.voterId);
      if (!answered.has(key)) {
        answered.set(key, null);
        lookup.push(key);
      }
      decoded[row - first] = { vote: vote!, voterKey: key };
    }

    const values = await this.store.getMany(lookup);
    for (let i = 0; i < values.length; i++) if (values[i] !== undefined) answered.set(lookup[i]!, JSON.parse(values[i]!) as string[]);

    // ---- pass 2 (offset order): one-vote rules and counting
    const ops: WriteOp[] = [];
    const changedVoters = new Set<string>();
    const touched = new Set<string>();
    const touchedMinutes = new Map<string, Set<number>>();
    let accepted = 0;
    let duplicate = 0;
    for (let i = 0; i < decoded.length; i++) {
      const entry = decoded[i];
      if (!entry) continue;
      const { vote } = entry;
      const before = answered.get(entry.voterKey) ?? null;
      let questions = before;
      let tally: SurveyTally | undefined;
      for (const questionId in vote.answers) {
        if (questions !== null && questions.includes(questionId)) continue;
        (questions ??= []).push(questionId);
        tally ??= this.tallyOf(vote.surveyId);
        const options = vote.answers[questionId]!;
        countOptions(tally.votes, questionId, options);
        if (vote.region !== null) countOptions(regionOf(tally, vote.region).votes, questionId, options);
      }
      if (tally === undefined) {
        duplicate++;
        continue;
      }
      accepted++;
      if (before === null) {
        // The voter's first counted vote in this survey (and partition).
        answered.set(entry.voterKey, questions);
        tally.responses++;
        if (vote.region !== null) regionOf(tally, vote.region).responses++;
      }
      changedVoters.add(entry.voterKey);
      const minute = Math.floor(vote.castAt / MINUTE_MS);
      this.bucketsOf(vote.surveyId).add(minute);
      let minutes = touchedMinutes.get(vote.surveyId);
      if (!minutes) touchedMinutes.set(vote.surveyId, (minutes = new Set()));
      minutes.add(minute);
      if (vote.castAt > tally.lastCastAt) tally.lastCastAt = vote.castAt;
      touched.add(vote.surveyId);
    }

    const lastOffset = index[(rows - 1) * INDEX_STRIDE + I_OFFSET]!;
    this.nextOffset = lastOffset + 1;
    this.head = head;
    this.outcomes.accepted += accepted;
    this.outcomes.duplicate += duplicate;
    this.outcomes.invalid += dlq.length;

    for (const key of changedVoters) ops.push({ type: 'put', key, value: JSON.stringify(answered.get(key)) });
    for (const surveyId of touched) ops.push({ type: 'put', key: tallyKey(surveyId), value: JSON.stringify(this.surveys.get(surveyId)) });
    for (const [surveyId, minutes] of touchedMinutes) {
      const buckets = this.minutes.get(surveyId)!;
      for (const minute of minutes) ops.push({ type: 'put', key: minuteKey(surveyId, minute), value: String(buckets.counts.get(minute)) });
    }
    const checkpoint = lastOffset - this.checkpointFrom + 1 >= this.context.checkpointEvery ? this.takeCheckpoint(lastOffset, ops) : null;
    this.pushPosition(ops);

    const result: HeldWrite['result'] = {
      kind: 'written',
      nextOffset: String(this.nextOffset),
      outcomes: { accepted, duplicate, invalid: dlq.length },
      records: rows - first,
      checkpoint,
    };
    this.held = { ops, touched, result };
    if (dlq.length > 0) return { kind: 'needs-dlq', dlq };
    return this.commitHeld();
  }

  /** Writes the held batch (synced), remembers its keys, publishes its surveys. */
  async commitHeld(): Promise<WrittenResult> {
    const held = this.held;
    if (!held) throw new Error(`partition ${this.context.partition}: no held write to commit`);
    this.held = null;
    const started = performance.now();
    await this.store.write(held.ops, true);
    const writeSeconds = (performance.now() - started) / 1000;
    const writtenAt = Date.now();
    this.broken = false;
    if (held.result.checkpoint) this.pendingCheckpoints.set(held.result.checkpoint.lastOffset, held.result.checkpoint);
    await this.context.publisher.publish(this.context.partition, held.result.nextOffset, writtenAt, this.partialsJson(held.touched, writtenAt));
    return { ...held.result, writeSeconds };
  }

  /** A checkpoint of everything since the previous one (graceful shutdown); null if nothing new. */
  async checkpointNow(): Promise<CheckpointRow | null> {
    if (this.held) throw new Error(`partition ${this.context.partition}: a held write must be committed or discarded first`);
    const lastOffset = this.nextOffset - 1;
    if (lastOffset < this.checkpointFrom) return null;
    const ops: WriteOp[] = [];
    const row = this.takeCheckpoint(lastOffset, ops);
    await this.store.write(ops, true);
    this.pendingCheckpoints.set(row.lastOffset, row);
    return row;
  }

  /** The rows are in PostgreSQL: forget them (not synced: re-inserting after a crash is harmless). */
  async confirmCheckpoints(lastOffsets: string[]): Promise<void> {
    const ops: WriteOp[] = [];
    for (const lastOffset of lastOffsets) {
      if (!this.pendingCheckpoints.delete(lastOffset)) continue;
      ops.push({ type: 'del', key: checkpointKey(Number(lastOffset)) });
    }
    if (ops.length > 0) await this.store.write(ops, false);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private takeCheckpoint(lastOffset: number, ops: WriteOp[]): CheckpointRow {
    const row: CheckpointRow = {
      topic: this.context.topic,
      partition: this.context.partition,
      firstOffset: String(this.checkpointFrom),
      lastOffset: String(lastOffset),
      records: String(lastOffset - this.checkpointFrom + 1),
      chainHead: this.head.toString('hex'),
      talliesDigest: talliesDigest([...this.surveys].map(([surveyId, tally]) => ({ surveyId, ...tally }))),
    };
    this.checkpointFrom = lastOffset + 1;
    ops.push({ type: 'put', key: checkpointKey(lastOffset), value: JSON.stringify(row) });
    ops.push({ type: 'put', key: KEY_CHECKPOINT_FROM, value: String(this.checkpointFrom) });
    return row;
  }

  private pushPosition(ops: WriteOp[]): void {
    ops.push({ type: 'put', key: KEY_NEXT, value: String(this.nextOffset) });
    ops.push({ type: 'put', key: KEY_HEAD, value: this.head.toString('hex') });
    ops.push({ type: 'put', key: KEY_OUTCOMES, value: JSON.stringify(this.outcomes) });
  }

  private partialsJson(surveyIds: Set<string>, writtenAt: number): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const nextOffset = String(this.nextOffset);
    for (const surveyId of surveyIds) {
      const tally = this.surveys.get(surveyId)!;
      out.push([
        surveyId,
        JSON.stringify({
          surveyId,
          partition: this.context.partition,
          nextOffset,
          responses: tally.responses,
          votes: tally.votes,
          regions: tally.regions,
          minutes: this.minutes.get(surveyId)?.recent() ?? {},
          lastCastAt: tally.lastCastAt,
          writtenAt,
        }),
      ]);
    }
    return out;
  }

  private tallyOf(surveyId: string): SurveyTally {
    let tally = this.surveys.get(surveyId);
    if (!tally) this.surveys.set(surveyId, (tally = emptySurveyTally()));
    return tally;
  }

  private bucketsOf(surveyId: string): MinuteBuckets {
    let buckets = this.minutes.get(surveyId);
    if (!buckets) this.minutes.set(surveyId, (buckets = new MinuteBuckets()));
    return buckets;
  }

  private async resolveSchemaIds(bytes: Buffer, index: Float64Array, first: number, rows: number): Promise<void> {
    let unknown: Set<number> | null = null;
    for (let row = first; row < rows; row++) {
      const at = row * INDEX_STRIDE;
      const valueStart = index[at + I_VALUE_START]!;
      if (index[at + I_VALUE_LENGTH]! < HEADER_BYTES || bytes[valueStart] !== 0) continue;
      const id = bytes.readUInt32BE(valueStart + 1);
      if (!this.context.schemas.isResolved(id)) (unknown ??= new Set()).add(id);
    }
    if (unknown) await this.context.schemas.resolve(unknown);
  }
}

/**
 * h(n) = SHA-256(h(n-1) || offset as int64 BE || value), hashed in place: the packer left
 * CHAIN_PREFIX_BYTES free before each value, so head and offset are written there.
 */
function chainStep(bytes: Buffer, head: Buffer, offset: number, valueStart: number, valueLength: number): Buffer {
  const prefix = valueStart - CHAIN_PREFIX_BYTES;
  head.copy(bytes, prefix);
  bytes.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), prefix + 32);
  bytes.writeUInt32BE(offset >>> 0, prefix + 36);
  return hash('sha256', bytes.subarray(prefix, valueStart + Math.max(valueLength, 0)), 'buffer' as 'hex') as unknown as Buffer;
}
