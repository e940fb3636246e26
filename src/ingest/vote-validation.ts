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
