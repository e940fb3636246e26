// The structural rules of docs/counting-rules.md ("Records"): what makes a decoded vote invalid.
// The aggregator has no survey definitions; ingest already checked questions and options.
import { surveyIdOfKey } from '../partition-key.js';
import type { VoteCast } from '../vote-codec.js';

/** Returns why the vote is invalid, or null when it may be counted. */
export function structuralProblem(vote: VoteCast, key: string | null): string | null {
  if (!vote.voteId) return 'voteId is empty';
  if (!vote.surveyId) return 'surveyId is empty';
  if (!vote.voterId) return 'voterId is empty';
  if (key === null) return 'record key is null';
  if (surveyIdOfKey(key) !== vote.surveyId) return `record key ${JSON.stringify(key)} is not for survey ${JSON.stringify(vote.surveyId)}`;
  let questions = 0;
  for (const questionId in vote.answers) {
    questions++;
    const options = vote.answers[questionId]!;
    if (options.length === 0) return `question ${JSON.stringify(questionId)} has no option`;
    for (let i = 1; i < options.length; i++) {
      // Option lists are short (a handful), so the quadratic check beats allocating a Set.
      for (let j = 0; j < i; j++) {
        if (options[i] === options[j]) return `question ${JSON.stringify(questionId)} repeats option ${JSON.stringify(options[i])}`;
      }
    }
  }
  if (questions === 0) return 'answers is empty';
  return null;
}
