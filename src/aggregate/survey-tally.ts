// One survey's counts in one partition, as kept in memory and stored under t:<survey> in RocksDB.
// Plain objects on purpose: they serialize to JSON for RocksDB, Redis and the checkpoint digest
// without a conversion step. Ids come from votes, so keys go through own-keys.ts.
import { ownOrCreate, setOwn } from '../own-keys.js';
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

const emptyCounts = (): { [optionId: string]: number } => ({});
const emptyRegion = (): RegionTally => ({ responses: 0, votes: {} });

/**
 * votes[question][option] += 1 for every option. A count is always a number and nothing inherited
 * from Object.prototype is (`constructor`, `__proto__`, …), so reading the count is the own-property
 * check too (own-keys.ts' addCount asks Object.hasOwn first: a third of the counting core's time).
 */
export function countOptions(counts: OptionCounts, questionId: string, options: readonly string[]): void {
  const question = ownOrCreate(counts, questionId, emptyCounts);
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    const count = question[option];
    if (typeof count === 'number') question[option] = count + 1;
    else setOwn(question, option, 1);
  }
}

export function regionOf(tally: SurveyTally, region: string): RegionTally {
  return ownOrCreate(tally.regions, region, emptyRegion);
}

/**
 * Minute buckets of one survey, pruned to the window (docs/counting-rules.md): the RECENT_MINUTES
 * minutes ending at the newest one. A minute older than the window adds to no bucket; a newer
 * minute moves the window and drops the buckets that fall out (listed in `dropped` until the
 * store deletes them).
 */
export class MinuteBuckets {
  readonly counts = new Map<number, number>();
  newest = -Infinity;
  /** Minutes dropped from `counts` whose stored keys are still to be deleted. */
  readonly dropped: number[] = [];

  /** Adds `n` to the minute's bucket; false when the minute is older than the window (not kept). */
  add(minute: number, n = 1): boolean {
    if (minute <= this.newest - RECENT_MINUTES) return false;
    this.counts.set(minute, (this.counts.get(minute) ?? 0) + n);
    if (minute > this.newest) {
      this.newest = minute;
      const from = minute - RECENT_MINUTES + 1;
      for (const old of this.counts.keys()) {
        if (old >= from) continue;
        this.counts.delete(old);
        this.dropped.push(old);
      }
    }
    return true;
  }

  recent(): SurveyPartial['minutes'] {
    const out: SurveyPartial['minutes'] = {};
    for (const [minute, count] of this.counts) out[minute] = count;
    return out;
  }
}
