// A snapshot: one survey's full results, merged from the partial tallies of every partition that
// holds some of its votes. Full state, never a delta, so any snapshot replaces all earlier ones.
// The JSON shape is documented in src/broadcast/README.md; it follows the management API's
// "Get Survey Results" shape (survey, totalResponses, questions[].options[].votes) and adds
// regions, minutes, watermark and snapshotId beside it.
import { addCount, ownOrCreate, ownValue, setOwn } from '../own-keys.js';
import type { OptionCounts, SurveyPartial } from '../partition-tally.js';
import type { SurveyMetadata } from './survey-metadata.js';

export interface OptionResult {
  id: string;
  /** null for an option id that votes name but the survey no longer lists (never hide votes). */
  text: string | null;
  image: string | null;
  /** null for an unlisted option, like text */
  order: number | null;
  votes: number;
}

export interface QuestionResult {
  id: string;
  title: string | null;
  order: number | null;
  options: OptionResult[];
}

export interface RegionResult {
  totalResponses: number;
  /** question id → option id → votes, only counts above zero */
  votes: OptionCounts;
}

export interface MinuteBucket {
  /** epoch minute: floor(castAt / 60000) */
  minute: number;
  votes: number;
}

export interface SurveySnapshot {
  survey: { id: string; title: string; status: string };
  totalResponses: number;
  questions: QuestionResult[];
  regions: { [region: string]: RegionResult };
  /** Accepted votes per event-time minute, oldest first, the recent minutes the partials carry. */
  minutes: MinuteBucket[];
  /** partition → next offset: every record below it is counted in this snapshot. */
  watermark: { [partition: string]: string };
  /**
   * Sum of the watermark offsets. Grows with every change of the counts, and is the same in every
   * broadcaster process that holds the same partials, so it is the SSE event id.
   */
  snapshotId: string;
  /** castAt of the newest counted vote (epoch ms), null before the first vote. */
  lastCastAt: number | null;
  /** When this snapshot was built, i.e. when its window closed (epoch ms). */
  generatedAt: number;
}

function addCounts(into: OptionCounts, from: OptionCounts): void {
  for (const questionId in from) {
    const options = from[questionId]!;
    const target = ownOrCreate(into, questionId, () => ({}));
    for (const optionId in options) addCount(target, optionId, options[optionId]!);
  }
}

/** Numeric ids compare as numbers (so "10" follows "9"), anything else as text. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Merges the partials of one survey (at most one per partition) into a snapshot. Questions and
 * options follow the survey's order; counts for ids the survey does not list come last.
 */
export function buildSnapshot(metadata: SurveyMetadata, partials: Iterable<SurveyPartial>, generatedAt: number): SurveySnapshot {
  const votes: OptionCounts = {};
  const regions: { [region: string]: RegionResult } = {};
  const minutes = new Map<number, number>();
  const watermark: { [partition: string]: string } = {};
  let offsetSum = 0n;
  let totalResponses = 0;
  let lastCastAt: number | null = null;

  for (const partial of partials) {
    totalResponses += partial.responses;
    addCounts(votes, partial.votes);
    for (const region in partial.regions) {
      const source = partial.regions[region]!;
      const target = ownOrCreate(regions, region, () => ({ totalResponses: 0, votes: {} }));
      target.totalResponses += source.responses;
      addCounts(target.votes, source.votes);
    }
    for (const minute in partial.minutes) {
      const key = Number(minute);
      minutes.set(key, (minutes.get(key) ?? 0) + partial.minutes[minute]!);
    }
    watermark[String(partial.partition)] = partial.nextOffset;
    offsetSum += BigInt(partial.nextOffset);
    if (partial.lastCastAt > 0 && (lastCastAt === null || partial.lastCastAt > lastCastAt)) lastCastAt = partial.lastCastAt;
  }

  const questions: QuestionResult[] = metadata.questions.map((question) => {
    const counted = ownValue(votes, question.id) ?? {};
    const options: OptionResult[] = question.options.map((option) => ({
      id: option.id,
      text: option.text,
      image: option.image,
      order: option.order,
      votes: ownValue(counted, option.id) ?? 0,
    }));
    const listed = new Set(question.options.map((option) => option.id));
    const unlisted = Object.keys(counted).filter((id) => !listed.has(id)).sort(compareIds);
    for (const id of unlisted) options.push({ id, text: null, image: null, order: null, votes: counted[id]! });
    return { id: question.id, title: question.title, order: question.order, options };
  });
  const listedQuestions = new Set(metadata.questions.map((question) => question.id));
  for (const questionId of Object.keys(votes).filter((id) => !listedQuestions.has(id)).sort(compareIds)) {
    const counted = votes[questionId]!;
    const options = Object.keys(counted).sort(compareIds).map((id) => ({ id, text: null, image: null, order: null, votes: counted[id]! }));
    questions.push({ id: questionId, title: null, order: null, options });
  }

  return {
    survey: { id: metadata.id, title: metadata.title, status: metadata.status },
    totalResponses,
    questions,
    regions: sortedKeys(regions),
    minutes: [...minutes.entries()].sort((a, b) => a[0] - b[0]).map(([minute, n]) => ({ minute, votes: n })),
    watermark,
    snapshotId: offsetSum.toString(),
    lastCastAt,
    generatedAt,
  };
}

function sortedKeys<T>(record: { [key: string]: T }): { [key: string]: T } {
  const out: { [key: string]: T } = {};
  // setOwn: a region named `__proto__` is a key like any other, not the prototype (own-keys.ts).
  for (const key of Object.keys(record).sort()) setOwn(out, key, record[key]!);
  return out;
}
