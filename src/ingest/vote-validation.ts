// Checks a vote against its survey: open for votes (published, not finished), and every answer
// names a question of the survey and picks between its min and max of that question's options.
// Questions left out are allowed (a ballot may be partial; the answers API sends one at a time).
import { TallyError } from '../errors.js';
import type { CatalogSurvey } from './survey-catalog.js';

export function assertOpenForVotes(entry: CatalogSurvey): void {
  const { survey } = entry;
  if (survey.status === 'draft') throw new TallyError('TALLY_ERR_SURVEY_NOT_PUBLISHED', `survey ${survey.id}`);
  if (survey.status === 'finished') throw new TallyError('TALLY_ERR_SURVEY_FINISHED', `survey ${survey.id} finished at ${survey.finishDate}`);
}

/**
 * A vote names one of the regions its survey declared, or none. Voters cannot create regions: each
 * one is a key in every partial and snapshot of the survey, so free-form names would grow them
 * without bound (and a name like `__proto__` must never reach a plain object: own-keys.ts).
 */
export function assertValidRegion(entry: CatalogSurvey, region: string | null | undefined): void {
  if (region === null || region === undefined || entry.regions.has(region)) return;
  const declared = entry.regions.size === 0 ? 'it declares none' : `declared: ${[...entry.regions].join(', ')}`;
  throw new TallyError('TALLY_ERR_INVALID_ANSWER', `region ${region} is not a region of survey ${entry.survey.id} (${declared})`);
}

/** `answers`: question id → option ids (the route schema already checked shapes, sizes and uniqueness). */
export function assertValidAnswers(entry: CatalogSurvey, answers: Record<string, string[]>): void {
  for (const questionId in answers) {
    const rule = entry.questions.get(questionId);
    if (rule === undefined) throw new TallyError('TALLY_ERR_INVALID_ANSWER', `question ${questionId} is not part of survey ${entry.survey.id}`);
    const chosen = answers[questionId]!;
    for (const optionId of chosen) {
      if (!rule.options.has(optionId)) throw new TallyError('TALLY_ERR_INVALID_ANSWER', `option ${optionId} is not an option of question ${questionId}`);
    }
    const min = Math.max(rule.min, 1);
    if (chosen.length < min || chosen.length > rule.max) {
      throw new TallyError('TALLY_ERR_INVALID_ANSWER', `question ${questionId} takes ${min === rule.max ? min : `${min} to ${rule.max}`} option(s), got ${chosen.length}`);
    }
  }
}
