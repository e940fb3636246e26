// The one-vote ledger of one partition as one batch sees it: for each (survey, voter) of the batch,
// the questions the voter answered before (read from the store before the batch is counted) or in
// the batch so far. One store key per (survey, voter) holding the list of questions, so a record
// costs at most one lookup and one write whatever its number of questions; the voter has a counted
// response exactly when the key exists (partition-store.ts: v:<survey><voter>).
//
// The ledger lives as long as its processor: memory that went ahead of the store (a failed batch)
// is dropped with the processor, which is reopened from the store (partition-lifecycle.ts).
import { voterKey, type PartitionStore, type StoreWriteBatch } from './partition-store.js';

export class VoterLedger {
  /** store key → counted questions; null while unknown or when the voter has none */
  private readonly entries = new Map<string, string[] | null>();
  private readonly changed = new Set<string>();
  private pending: string[] = [];

  /** Marks the voter for `load` unless the ledger knows it already. */
  want(surveyId: string, voterId: string): void {
    const key = voterKey(surveyId, voterId);
    if (this.entries.has(key)) return;
    this.entries.set(key, null);
    this.pending.push(key);
  }

  /** Reads every voter asked for since the last load, in one lookup. */
  async load(store: PartitionStore): Promise<void> {
    const keys = this.pending;
    if (keys.length === 0) return;
    this.pending = [];
    const values = await store.getMany(keys);
    for (let i = 0; i < keys.length; i++) {
      const value = values[i];
      if (value !== undefined) this.entries.set(keys[i]!, JSON.parse(value) as string[]);
    }
  }

  answered(surveyId: string, voterId: string): readonly string[] | undefined {
    const questions = this.entries.get(voterKey(surveyId, voterId));
    if (questions === undefined) throw new Error(`voter ledger: ${surveyId}/${voterId} was not loaded before counting`);
    return questions ?? undefined;
  }

  set(surveyId: string, voterId: string, questions: string[]): void {
    const key = voterKey(surveyId, voterId);
    this.entries.set(key, questions);
    this.changed.add(key);
  }

  /** Puts every voter changed since the last call into `batch`. */
  writeChanges(batch: StoreWriteBatch): void {
    for (const key of this.changed) batch.put(key, JSON.stringify(this.entries.get(key)));
    this.changed.clear();
  }

  /** Forgets everything: the next batch reads its voters from the store again. */
  clear(): void {
    this.entries.clear();
    this.changed.clear();
    this.pending = [];
  }
}
