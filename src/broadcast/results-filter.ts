// Filters of the JSON/CSV results: one region (counts of that region only), some questions, some
// options. The result keeps the snapshot's shape, so a filtered answer reads like a full one.
import { ownValue, setOwn } from '../own-keys.js';
import { TallyError } from '../errors.js';
import type { QuestionResult, RegionResult, SurveySnapshot } from './snapshot.js';

export interface ResultsFilter {
  region?: string;
  questionIds?: string[];
  optionIds?: string[];
}

export type FilteredResults = SurveySnapshot & { filter?: ResultsFilter };

/** Applies the filter; unknown question or option ids are a client error (a typo should not read as zero). */
export function filterResults(snapshot: SurveySnapshot, filter: ResultsFilter): FilteredResults {
  const { region, questionIds, optionIds } = filter;
  if (region === undefined && !questionIds?.length && !optionIds?.length) return snapshot;

  const questionSet = questionIds?.length ? new Set(questionIds) : undefined;
  const optionSet = optionIds?.length ? new Set(optionIds) : undefined;
  const known = new Set(snapshot.questions.map((question) => question.id));
  for (const id of questionSet ?? []) {
    if (!known.has(id)) throw new TallyError('TALLY_ERR_VALIDATION', `question ${id} is not in survey ${snapshot.survey.id}`);
  }
  const knownOptions = new Set(snapshot.questions.flatMap((question) => question.options.map((option) => option.id)));
  for (const id of optionSet ?? []) {
    if (!knownOptions.has(id)) throw new TallyError('TALLY_ERR_VALIDATION', `option ${id} is not in survey ${snapshot.survey.id}`);
  }

  const regionResult: RegionResult | undefined = region === undefined ? undefined : (ownValue(snapshot.regions, region) ?? { totalResponses: 0, votes: {} });
  const questions: QuestionResult[] = [];
  for (const question of snapshot.questions) {
    if (questionSet && !questionSet.has(question.id)) continue;
    const options = question.options
      .filter((option) => !optionSet || optionSet.has(option.id))
      .map((option) => (regionResult ? { ...option, votes: ownValue(ownValue(regionResult.votes, question.id) ?? {}, option.id) ?? 0 } : option));
    if (optionSet && options.length === 0) continue;
    questions.push({ ...question, options });
  }

  const keep = (result: RegionResult): RegionResult => {
    const votes: RegionResult['votes'] = {};
    for (const question of questions) {
      const counted = ownValue(result.votes, question.id);
      if (!counted) continue;
      const kept: { [optionId: string]: number } = {};
      for (const option of question.options) {
        const count = ownValue(counted, option.id);
        if (count !== undefined) setOwn(kept, option.id, count);
      }
      setOwn(votes, question.id, kept);
    }
    return { totalResponses: result.totalResponses, votes };
  };
  const regions: SurveySnapshot['regions'] = {};
  if (region !== undefined) setOwn(regions, region, keep(regionResult!));
  else for (const name of Object.keys(snapshot.regions)) setOwn(regions, name, keep(ownValue(snapshot.regions, name)!));

  return {
    ...snapshot,
    totalResponses: regionResult ? regionResult.totalResponses : snapshot.totalResponses,
    questions,
    regions,
    filter,
  };
}
