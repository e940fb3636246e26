// The one-vote ledger of one partition: for each (survey, voter), the questions the voter has
// counted answers for. The store holds it as one key per (survey, voter) with the list of questions
// (partition-store.ts: v:<survey><voter>; the key exists exactly when the voter has a counted
// response), so a record costs at most one lookup and one write whatever its number of questions.
//
// Memory keeps the voters it has read or written, across batches, by survey then by voter under the
// id strings the decoder made (a vote's lookups cost two map reads and no string building). It is
// the same memory as the rest of the partition's state: it goes ahead of the store while a batch
// is counted and is dropped with the processor when a batch fails (partition-lifecycle.ts), so
// after every durable write it holds exactly what the store holds for those voters.
//
// Why keep it across batches (measured with bench aggregate --profile, see the progress notes of
// issue 12): reading every voter of every batch from RocksDB (a getMany of one key per voter, the
// key strings built for it, the batch's votes held across the await) cost more than counting them.
// While the memory is `complete` — the partition's store had no voter when it was opened (a fresh
// partition, or one replayed from offset 0) and nothing was evicted since — a voter not in memory
// has no key in the store either, so it is counted at once without a lookup. Otherwise (a
// partition opened on existing state, or after an eviction) voters not in memory are read from the
// store in one getMany per batch, as before.
//
// Memory is bounded: two generations of about `capacity / 2` voters each (generational-map.ts's
// idea); when the young one is full at the end of a batch, the old one is dropped whole and the
// ledger stops being complete (the dropped voters are only in the store from then on).
import { voterKey, type PartitionStore, type StoreWriteBatch } from './partition-store.js';

/**
 * Voters kept in memory per partition. Memory per voter: the voter id string and a map slot (the
 * question list is shared), ~100 bytes, so ~25 MB per partition (+ one batch's new voters).
 */
export const LEDGER_CAPACITY = 250_000;

/** Question lists kept shared (see `shared`). */
const SHARED_LISTS = 8;
/** A voter asked for but not read from the store yet (`load`). */
const PENDING: readonly string[] = Object.freeze([]);
/** A voter known to have no counted response. */
const NONE = null;

type Questions = readonly string[] | typeof NONE;
type Generation = Map<string, Map<string, Questions>>;

export class VoterLedger {
  private young: Generation = new Map();
  private old: Generation = new Map();
  private youngSize = 0;
  /** (survey, voter) pairs waiting for `load`. */
  private pending: string[] = [];
  /** (survey, voter, questions) triples changed since the last writeChanges. */
  private changed: Array<string | readonly string[]> = [];
  /** The voter `want` or `set` saw last, and its questions then (`answered` of the same vote reuses them). */
  private seenSurveyId: string | undefined;
  private seenVoterId: string | undefined;
  private seen: Questions | undefined;
  /**
   * Question lists stored lately, most voters share one: the same few lists come back vote after
   * vote (a survey's questions, in the order voters answer them), so each is kept once in memory
   * and turned into JSON once, not once per voter. A list not among them replaces the oldest.
   */
  private readonly shared: Array<readonly string[]> = [];
  private readonly sharedJson: string[] = [];
  private nextShared = 0;

  /**
   * @param complete the store holds no voter that memory does not (true only for a store with no
   *   state at all)
   */
  constructor(
    private complete: boolean,
    private readonly capacity = LEDGER_CAPACITY,
  ) {}

  /** True while a voter missing from memory is known to be missing from the store too. */
  get isComplete(): boolean {
    return this.complete;
  }

  /** Voters in memory. */
  get size(): number {
    let size = 0;
    for (const generation of [this.young, this.old]) for (const voters of generation.values()) size += voters.size;
    return size;
  }

  /**
   * True when the voter can be counted now; false when it was marked for `load` (the ledger must
   * read it from the store first). The counting core's `answered` and `set` for the same vote
   * follow: they reuse what this lookup found (each lookup in a map of many voters is a cache miss
   * or two), and a voter new to a complete ledger is inserted once, by `set`.
   */
  want(surveyId: string, voterId: string): boolean {
    let questions = this.young.get(surveyId)?.get(voterId);
    if (questions === undefined && this.old.size > 0) questions = this.old.get(surveyId)?.get(voterId);
    this.seenSurveyId = surveyId;
    this.seenVoterId = voterId;
    if (questions !== undefined) {
      this.seen = questions;
      return questions !== PENDING;
    }
    if (this.complete) {
      this.seen = NONE;
      return true;
    }
    this.seen = PENDING;
    this.put(surveyId, voterId, PENDING);
    this.pending.push(surveyId, voterId);
    return false;
  }

  /** Reads every voter marked by `want` since the last load, in one lookup. */
  async load(store: PartitionStore): Promise<void> {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    this.seenVoterId = undefined;
    const keys = new Array<string>(pending.length / 2);
    for (let i = 0; i < keys.length; i++) keys[i] = voterKey(pending[2 * i]!, pending[2 * i + 1]!);
    const values = await store.getMany(keys);
    for (let i = 0; i < keys.length; i++) {
      const value = values[i];
      this.put(pending[2 * i]!, pending[2 * i + 1]!, value === undefined ? NONE : (JSON.parse(value) as string[]));
    }
  }

  answered(surveyId: string, voterId: string): readonly string[] | undefined {
    let questions = voterId === this.seenVoterId && surveyId === this.seenSurveyId ? this.seen : this.lookup(surveyId, voterId);
    if (questions === undefined && this.complete) questions = NONE;
    if (questions === undefined || questions === PENDING) throw new Error(`voter ledger: ${surveyId}/${voterId} was not loaded before counting`);
    return questions ?? undefined;
  }

  set(surveyId: string, voterId: string, questions: readonly string[]): void {
    const shared = this.share(questions);
    this.put(surveyId, voterId, shared);
    this.seenSurveyId = surveyId;
    this.seenVoterId = voterId;
    this.seen = shared;
    this.changed.push(surveyId, voterId, shared);
  }

  /** Puts every voter changed since the last call into `batch` (a voter changed twice: the last put wins). */
  writeChanges(batch: StoreWriteBatch): void {
    const changed = this.changed;
    for (let i = 0; i < changed.length; i += 3) {
      const questions = changed[i + 2] as readonly string[];
      batch.put(voterKey(changed[i] as string, changed[i + 1] as string), this.json(questions));
    }
    this.changed = [];
  }

  private lookup(surveyId: string, voterId: string): Questions | undefined {
    const questions = this.young.get(surveyId)?.get(voterId);
    if (questions !== undefined) return questions;
    return this.old.get(surveyId)?.get(voterId);
  }

  /**
   * After the batch's changes went into its write batch: if the young generation is full, the old
   * one is dropped whole (its voters are in the store only, now or once the write lands) and the
   * ledger is no longer complete. Only here, between batches: a voter counted earlier in a batch
   * must stay in memory until the batch's write holds it.
   */
  endBatch(): void {
    if (this.youngSize < this.capacity / 2) return;
    this.seenVoterId = undefined;
    this.old = this.young;
    this.young = new Map();
    this.youngSize = 0;
    this.complete = false;
  }

  private put(surveyId: string, voterId: string, questions: Questions): void {
    let voters = this.young.get(surveyId);
    if (voters === undefined) this.young.set(surveyId, (voters = new Map()));
    const size = voters.size;
    voters.set(voterId, questions);
    if (voters.size !== size) this.youngSize++;
  }

  /** An equal list among the shared ones, or a copy of this one (then shared from now on). */
  private share(questions: readonly string[]): readonly string[] {
    const { shared } = this;
    for (let k = 0; k < shared.length; k++) {
      const list = shared[k]!;
      if (list.length !== questions.length) continue;
      let same = true;
      for (let i = 0; i < list.length && same; i++) same = questions[i] === list[i];
      if (same) return list;
    }
    const slot = this.nextShared;
    this.nextShared = (slot + 1) % SHARED_LISTS;
    const copy = questions.slice(); // the caller's array is applyVote's, reused by its next vote
    shared[slot] = copy;
    this.sharedJson[slot] = '';
    return copy;
  }

  /** The stored value of a question list (its JSON, computed once for a shared list). */
  private json(questions: readonly string[]): string {
    const slot = this.shared.indexOf(questions);
    if (slot < 0) return JSON.stringify(questions);
    return (this.sharedJson[slot] ||= JSON.stringify(questions));
  }
}
