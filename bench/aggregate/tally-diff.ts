// Compares the final tallies (sum of the Redis partials of each survey) with the generator's
// expected counts, and lists the differences in a stable order so the first one is meaningful.
import type { SurveyPartial } from '../../src/partition-tally.js';
import type { SurveyCounts } from './expected-tally.js';

export interface CountDifference {
  surveyId: string;
  /** e.g. "responses", "votes.q1.o2", "regions.EU.votes.q0.o1" */
  path: string;
  expected: number;
  actual: number;
}

/** The survey's tally: the sum of its partitions' partials. */
export function sumPartials(partials: Iterable<Pick<SurveyPartial, 'responses' | 'votes' | 'regions'>>): SurveyCounts {
  const total: SurveyCounts = { responses: 0, votes: {}, regions: {} };
  const addVotes = (into: SurveyCounts['votes'], from: SurveyCounts['votes']) => {
    for (const [question, options] of Object.entries(from)) {
      const target = (into[question] ??= {});
      for (const [option, n] of Object.entries(options)) target[option] = (target[option] ?? 0) + n;
    }
  };
  for (const partial of partials) {
    total.responses += partial.responses;
    addVotes(total.votes, partial.votes);
    for (const [region, tally] of Object.entries(partial.regions ?? {})) {
      const target = (total.regions[region] ??= { responses: 0, votes: {} });
      target.responses += tally.responses;
      addVotes(target.votes, tally.votes);
    }
  }
  return total;
}

/** Flattens counts to path → number (zero counts are dropped: absent and 0 mean the same). */
export function flattenCounts(counts: SurveyCounts): Map<string, number> {
  const flat = new Map<string, number>();
  const put = (path: string, n: number) => {
    if (n !== 0) flat.set(path, n);
  };
  put('responses', counts.responses);
  const putVotes = (prefix: string, votes: SurveyCounts['votes']) => {
    for (const [question, options] of Object.entries(votes)) for (const [option, n] of Object.entries(options)) put(`${prefix}votes.${question}.${option}`, n);
  };
  putVotes('', counts.votes);
  for (const [region, tally] of Object.entries(counts.regions)) {
    put(`regions.${region}.responses`, tally.responses);
    putVotes(`regions.${region}.`, tally.votes);
  }
  return flat;
}

/** Every difference between expected and actual, surveys and paths sorted. */
export function diffTallies(expected: ReadonlyMap<string, SurveyCounts>, actual: ReadonlyMap<string, SurveyCounts>): CountDifference[] {
  const differences: CountDifference[] = [];
  const empty: SurveyCounts = { responses: 0, votes: {}, regions: {} };
  const surveyIds = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const surveyId of surveyIds) {
    const want = flattenCounts(expected.get(surveyId) ?? empty);
    const got = flattenCounts(actual.get(surveyId) ?? empty);
    const paths = [...new Set([...want.keys(), ...got.keys()])].sort();
    for (const path of paths) {
      const e = want.get(path) ?? 0;
      const a = got.get(path) ?? 0;
      if (e !== a) differences.push({ surveyId, path, expected: e, actual: a });
    }
  }
  return differences;
}

export function formatDifferences(differences: CountDifference[], limit = 20): string {
  const lines = differences.slice(0, limit).map((d) => `  survey ${d.surveyId} ${d.path}: expected ${d.expected}, actual ${d.actual} (${d.actual - d.expected >= 0 ? '+' : ''}${d.actual - d.expected})`);
  if (differences.length > limit) lines.push(`  … and ${differences.length - limit} more differences`);
  return lines.join('\n');
}
