// Compares a live partial with the recount of the same survey and partition at the partial's
// nextOffset, and says what differs, path by path ("votes.q1.o2: recount 3, live 4").
import { ownValue } from '../own-keys.js';
import type { OptionCounts, RegionTally, SurveyPartial } from '../partition-tally.js';
import type { SurveyRecount } from './partition-recount.js';

/** The counted part of one survey in one partition, copied at a probe offset. */
export interface SurveySnapshot {
  responses: number;
  votes: OptionCounts;
  regions: { [region: string]: RegionTally };
  minutes: Map<number, number>;
}

export const EMPTY_SNAPSHOT: SurveySnapshot = { responses: 0, votes: {}, regions: {}, minutes: new Map() };

/** A map-like object without a prototype, so ids such as `__proto__` are plain keys. */
function emptyRecord<T>(): { [key: string]: T } {
  return Object.create(null) as { [key: string]: T };
}

function copyCounts(counts: OptionCounts): OptionCounts {
  const copy: OptionCounts = emptyRecord();
  for (const question of Object.keys(counts)) copy[question] = Object.assign(emptyRecord<number>(), counts[question]);
  return copy;
}

export function snapshotOf(survey: SurveyRecount | undefined): SurveySnapshot {
  if (survey === undefined) return EMPTY_SNAPSHOT;
  const regions: SurveySnapshot['regions'] = emptyRecord();
  for (const region of Object.keys(survey.regions)) {
    const tally = survey.regions[region]!;
    regions[region] = { responses: tally.responses, votes: copyCounts(tally.votes) };
  }
  return { responses: survey.responses, votes: copyCounts(survey.votes), regions, minutes: new Map(survey.minutes) };
}

const MAX_PATHS = 8;

/** What differs, at most a few paths (plus how many more); empty when the live partial is right. */
export function liveDifferences(recount: SurveySnapshot, live: SurveyPartial): string[] {
  const found: string[] = [];
  // An absent count is a zero: publishers may or may not list empty entries.
  const note = (path: string, recounted: number, stored: unknown) => {
    if (stored === undefined ? recounted !== 0 : stored !== recounted) {
      found.push(`${path}: recount ${recounted}, live ${stored === undefined ? 'absent' : JSON.stringify(stored)}`);
    }
  };

  note('responses', recount.responses, live.responses);
  compareCounts('votes', recount.votes, live.votes ?? {}, note);
  const liveRegions = live.regions ?? {};
  for (const region of union(Object.keys(recount.regions), Object.keys(liveRegions))) {
    // Ids come from votes: only own keys count (a region called `constructor` is a region).
    const mine = ownValue(recount.regions, region) ?? { responses: 0, votes: {} };
    const theirs: Partial<RegionTally> = ownValue(liveRegions, region) ?? {};
    note(`regions.${region}.responses`, mine.responses, theirs.responses);
    compareCounts(`regions.${region}.votes`, mine.votes, theirs.votes ?? {}, note);
  }
  compareMinutes(recount.minutes, live.minutes ?? {}, note);

  if (found.length <= MAX_PATHS) return found;
  return [...found.slice(0, MAX_PATHS), `… and ${found.length - MAX_PATHS} more`];
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

function compareCounts(prefix: string, mine: OptionCounts, theirs: OptionCounts, note: (path: string, recount: number, live: unknown) => void): void {
  for (const question of union(Object.keys(mine), Object.keys(theirs))) {
    const myOptions = ownValue(mine, question) ?? {};
    const theirOptions = ownValue(theirs, question) ?? {};
    for (const option of union(Object.keys(myOptions), Object.keys(theirOptions))) {
      note(`${prefix}.${question}.${option}`, ownValue(myOptions, option) ?? 0, ownValue(theirOptions, option));
    }
  }
}

/**
 * A partial carries recent minutes only (what "recent" means is the publisher's choice), so:
 * every minute it lists must match, and no recounted minute may be missing inside the span it lists.
 */
function compareMinutes(mine: Map<number, number>, theirs: { [minute: string]: number }, note: (path: string, recount: number, live: unknown) => void): void {
  const listed = Object.keys(theirs).map(Number);
  if (listed.length === 0) return;
  for (const minute of listed) note(`minutes.${minute}`, mine.get(minute) ?? 0, theirs[String(minute)]);
  const first = Math.min(...listed);
  const last = Math.max(...listed);
  for (const [minute, count] of mine) {
    if (minute >= first && minute <= last && theirs[String(minute)] === undefined) note(`minutes.${minute}`, count, undefined);
  }
}
