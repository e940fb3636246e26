// The one-vote ledger of one partition as one batch sees it: for each (survey, voter) of the batch,
// the questions the voter answered before (read from the store before the batch is counted) or in
// the batch so far. One store key per (survey, voter) holding the list of questions, so a record
// costs at most one lookup and one write whatever its number of questions; the voter has a counted
// response exactly when the key exists (partition-store.ts: v:<survey><voter>).
//
// In memory the entries are kept by survey, then by voter, under the id strings the decoder made:
// a vote's lookups (want, answered, set) cost two map reads and no string building; the store key is
// built once per voter and batch, when the voter is first wanted.
//
// The ledger lives as long as its processor: memory that went ahead of the store (a failed batch)
// is dropped with the processor, which is reopened from the store (partition-lifecycle.ts).
import { voterKey, type PartitionStore, type StoreWriteBatch } from './partition-store.js';

interface VoterEntry {
  /** the store key, v:<survey><voter> */
  readonly key: string;
  /** counted questions; null while unknown or when the voter has none */
  questions: string[] | null;
  changed: boolean;
}

export class VoterLedger {
  private readonly bySurvey = new Map<string, Map<string, VoterEntry>>();
  private pending: VoterEntry[] = [];
  private changed: VoterEntry[] = [];
  /** The entry `answered` found last: applyVote's `set` for the same vote follows it. */
  private lastSurveyId: string | undefined;
  private lastVoterId: string | undefined;
  private lastEntry: VoterEntry | undefined;

  /** Marks the voter for `load` unless the ledger knows it already. */
  want(surveyId: string, voterId: string): void {
    let voters = this.bySurvey.get(surveyId);
    if (voters === undefined) this.bySurvey.set(surveyId, (voters = new Map()));
    if (voters.has(voterId)) return;
    const entry: VoterEntry = { key: voterKey(surveyId, voterId), questions: null, changed: false };
    voters.set(voterId, entry);
    this.pending.push(entry);
  }

  /** Reads every voter asked for since the last load, in one lookup. */
  async load(store: PartitionStore): Promise<void> {
    const entries = this.pending;
    if (entries.length === 0) return;
    this.pending = [];
    const keys = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) keys[i] = entries[i]!.key;
    const values = await store.getMany(keys);
    for (let i = 0; i < entries.length; i++) {
      const value = values[i];
      if (value !== undefined) entries[i]!.questions = JSON.parse(value) as string[];
    }
  }

  answered(surveyId: string, voterId: string): readonly string[] | undefined {
    return this.entry(surveyId, voterId).questions ?? undefined;
  }

  set(surveyId: string, voterId: string, questions: string[]): void {
    const entry = this.entry(surveyId, voterId);
    entry.questions = questions;
    if (entry.changed) return;
    entry.changed = true;
    this.changed.push(entry);
  }

  /** Puts every voter changed since the last call into `batch`. */
  writeChanges(batch: StoreWriteBatch): void {
    for (const entry of this.changed) {
      batch.put(entry.key, JSON.stringify(entry.questions));
      entry.changed = false;
    }
    this.changed = [];
  }

  /** Forgets everything: the next batch reads its voters from the store again. */
  clear(): void {
    this.lastSurveyId = this.lastVoterId = this.lastEntry = undefined;
    this.bySurvey.clear();
    this.changed = [];
    this.pending = [];
  }

  private entry(surveyId: string, voterId: string): VoterEntry {
    if (voterId === this.lastVoterId && surveyId === this.lastSurveyId) return this.lastEntry!;
    const entry = this.bySurvey.get(surveyId)?.get(voterId);
    if (entry === undefined) throw new Error(`voter ledger: ${surveyId}/${voterId} was not loaded before counting`);
    this.lastSurveyId = surveyId;
    this.lastVoterId = voterId;
    this.lastEntry = entry;
    return entry;
  }
}
