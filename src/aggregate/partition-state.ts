// One partition's counting state in memory on its worker thread: position (next offset, chain head,
// outcome counts), the survey tallies and minute buckets (loaded whole at open), the pending
// checkpoint rows, and the one-vote ledger's voters in memory (voter-ledger.ts). It is the
// CountingState the counting core (apply-votes.ts) changes, and it knows which keys a batch
// changed, so persistence writes exactly those (`writeChanges`) plus the position (`writePosition`)
// into the batch's one synced write.
import { MinuteBuckets, emptySurveyTally, type SurveyTally } from './survey-tally.js';
import type { CountingState } from './apply-votes.js';
import {
  KEY_CHECKPOINT_FROM,
  KEY_HEAD,
  KEY_MERKLE,
  KEY_NEXT,
  KEY_OUTCOMES,
  KEY_TOPIC_ID,
  PREFIX_CHECKPOINT,
  PREFIX_MINUTE,
  PREFIX_TALLY,
  minuteKey,
  parseMinuteKey,
  tallyKey,
  type PartitionStore,
  type StoreWriteBatch,
} from './partition-store.js';
import { MerkleAccumulator } from '../merkle-tree.js';
import { CHAIN_GENESIS } from './record-reader.js';
import { VoterLedger } from './voter-ledger.js';
import type { CheckpointRow, OutcomeCounts } from './worker-messages.js';

export class PartitionState implements CountingState {
  /** Every record below this offset is counted. */
  nextOffset = 0;
  /** h(nextOffset - 1): the chain head after the last counted record. */
  head: Buffer = CHAIN_GENESIS;
  /** First offset of the next checkpoint. */
  checkpointFrom = 0;
  /**
   * The Merkle tree of the records checkpointFrom … nextOffset - 1 (their leaf hashes, folded into
   * O(log n) subtree roots); null when a store written before merkle roots existed had records
   * pending: that one checkpoint then has no root.
   */
  merkle: MerkleAccumulator | null = new MerkleAccumulator();
  /** The Kafka topic id the position is of (absent in stores written before ids were kept). */
  topicId: string | undefined;
  readonly outcomes: OutcomeCounts = { accepted: 0, duplicate: 0, invalid: 0 };
  readonly surveys = new Map<string, SurveyTally>();
  readonly minutes = new Map<string, MinuteBuckets>();
  /** Checkpoint rows durable in the store, not yet confirmed in PostgreSQL, by last offset. */
  readonly pendingCheckpoints = new Map<string, CheckpointRow>();
  /** Complete for a store with no state (nothing was ever written, so it has no voter key). */
  ledger = new VoterLedger(true);
  /** Surveys and (survey, minute) buckets changed since the last writeChanges. */
  private readonly touchedSurveys = new Set<string>();
  private readonly touchedMinutes = new Map<string, Set<number>>();
  /** Stored minute keys outside the window, deleted by the next writeChanges. */
  private readonly staleMinuteKeys: string[] = [];

  /** Everything but the one-vote ledger, whose voters are read from the store as batches need them. */
  static async load(store: PartitionStore): Promise<PartitionState> {
    const state = new PartitionState();
    const [next, head, outcomes, checkpointFrom, merkle, topicId] = await store.getMany([KEY_NEXT, KEY_HEAD, KEY_OUTCOMES, KEY_CHECKPOINT_FROM, KEY_MERKLE, KEY_TOPIC_ID]);
    state.topicId = topicId;
    // Every write that puts a voter key also puts m:next: without m:next the store has no voter.
    if (next !== undefined) state.ledger = new VoterLedger(false);
    state.nextOffset = next === undefined ? 0 : Number(next);
    state.head = head === undefined ? CHAIN_GENESIS : Buffer.from(head, 'hex');
    if (outcomes !== undefined) Object.assign(state.outcomes, JSON.parse(outcomes) as OutcomeCounts);
    state.checkpointFrom = checkpointFrom === undefined ? 0 : Number(checkpointFrom);
    if (merkle !== undefined) state.merkle = MerkleAccumulator.parse(merkle);
    else if (state.nextOffset > state.checkpointFrom) state.merkle = null;
    for (const [key, value] of await store.scan(PREFIX_TALLY)) state.surveys.set(key.slice(PREFIX_TALLY.length), JSON.parse(value) as SurveyTally);
    for (const [key, value] of await store.scan(PREFIX_MINUTE)) {
      const { surveyId, minute } = parseMinuteKey(key);
      if (!state.bucketsOf(surveyId).add(minute, Number(value))) state.staleMinuteKeys.push(key);
    }
    // Buckets stored before the window was pruned (or dropped since): deleted with the next write.
    for (const [surveyId, buckets] of state.minutes) for (const minute of buckets.dropped.splice(0)) state.staleMinuteKeys.push(minuteKey(surveyId, minute));
    for (const [, value] of await store.scan(PREFIX_CHECKPOINT)) {
      const row = JSON.parse(value) as CheckpointRow;
      state.pendingCheckpoints.set(row.lastOffset, row);
    }
    return state;
  }

  // ---- CountingState (apply-votes.ts)

  answeredQuestions(surveyId: string, voterId: string): readonly string[] | undefined {
    return this.ledger.answered(surveyId, voterId);
  }

  setAnsweredQuestions(surveyId: string, voterId: string, questions: readonly string[]): void {
    this.ledger.set(surveyId, voterId, questions);
  }

  surveyTally(surveyId: string): SurveyTally {
    this.touchedSurveys.add(surveyId);
    let tally = this.surveys.get(surveyId);
    if (!tally) this.surveys.set(surveyId, (tally = emptySurveyTally()));
    return tally;
  }

  countMinute(surveyId: string, minute: number): void {
    if (!this.bucketsOf(surveyId).add(minute)) return;
    let minutes = this.touchedMinutes.get(surveyId);
    if (!minutes) this.touchedMinutes.set(surveyId, (minutes = new Set()));
    minutes.add(minute);
  }

  // ---- persistence

  /** Surveys whose tallies changed since the last writeChanges (their partials need publishing). */
  touched(): Set<string> {
    return new Set(this.touchedSurveys);
  }

  /** Puts every voter, tally and minute bucket changed since the last call into `batch`. */
  writeChanges(batch: StoreWriteBatch): void {
    this.ledger.writeChanges(batch);
    for (const surveyId of this.touchedSurveys) batch.put(tallyKey(surveyId), JSON.stringify(this.surveys.get(surveyId)));
    for (const [surveyId, minutes] of this.touchedMinutes) {
      const buckets = this.minutes.get(surveyId)!;
      for (const minute of minutes) {
        const count = buckets.counts.get(minute);
        if (count !== undefined) batch.put(minuteKey(surveyId, minute), String(count));
      }
      for (const minute of buckets.dropped.splice(0)) batch.del(minuteKey(surveyId, minute));
    }
    for (const key of this.staleMinuteKeys.splice(0)) batch.del(key);
    this.touchedSurveys.clear();
    this.touchedMinutes.clear();
  }

  /**
   * The position the state describes: next offset, chain head and outcome counts. Every synced
   * write carries it, so after a crash the store is exactly "the log below next offset, applied
   * once" (records below it are skipped, the consumer seeks to it on assignment).
   */
  writePosition(batch: StoreWriteBatch): void {
    batch.put(KEY_NEXT, String(this.nextOffset));
    batch.put(KEY_HEAD, this.head.toString('hex'));
    batch.put(KEY_OUTCOMES, JSON.stringify(this.outcomes));
    if (this.merkle !== null) batch.put(KEY_MERKLE, this.merkle.serialize());
    if (this.topicId !== undefined) batch.put(KEY_TOPIC_ID, this.topicId);
  }

  bucketsOf(surveyId: string): MinuteBuckets {
    let buckets = this.minutes.get(surveyId);
    if (!buckets) this.minutes.set(surveyId, (buckets = new MinuteBuckets()));
    return buckets;
  }
}

