// One survey's counts in one partition, as kept in memory and stored under t:<survey> in RocksDB.
// Plain objects on purpose: they serialize to JSON for RocksDB, Redis and the checkpoint digest
// without a conversion step. Ids come from votes, so keys go through own-keys.ts.
import { addCount, ownOrCreate } from '../own-keys.js';
import { RECENT_MINUTES, type OptionCounts, type RegionTally, type SurveyPartial } from '../partition-tally.js';

export interface SurveyTally {
  responses: number;
  votes: OptionCounts;
  regions: { [region: string]: RegionTally };
  /** castAt of the newest counted vote (epoch ms). */
  lastCastAt: number;
}

export function emptySurveyTally(): SurveyTally {
  return { responses: 0, votes: {}, regions: {}, lastCastAt: 0 };
}

/** votes[question][option] += 1 for every option. */
export function countOptions(counts: OptionCounts, questionId: string, options: readonly string[]): void {
  const question = ownOrCreate(counts, questionId, () => ({}));
  for (let i = 0; i < options.length; i++) addCount(question, options[i]!, 1);
}

export function regionOf(tally: SurveyTally, region: string): RegionTally {
  return ownOrCreate(tally.regions, region, () => ({ responses: 0, votes: {} }));
}

/** Minute buckets of one survey; the partial carries the RECENT_MINUTES newest ones. */
export class MinuteBuckets {
  readonly counts = new Map<number, number>();
  newest = -Infinity;

  add(minute: number, n = 1): number {
    const count = (this.counts.get(minute) ?? 0) + n;
    this.counts.set(minute, count);
    if (minute > this.newest) this.newest = minute;
    return count;
  }

  recent(): SurveyPartial['minutes'] {
    const out: SurveyPartial['minutes'] = {};
    const from = this.newest - RECENT_MINUTES + 1;
    for (const [minute, count] of this.counts) if (minute >= from) out[minute] = count;
    return out;
  }
}
