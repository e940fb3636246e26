// Structural rules a decoded vote must meet to be counted (docs/counting-rules.md, "Records").
// Re-implemented independently of the aggregator: both sides follow the page, neither the other.
import { surveyIdOfKey } from '../partition-key.js';
import type { VoteCast } from '../vote-codec.js';

/** Why the vote breaks a structural rule, or null when it is well-formed. */
export function structuralProblem(vote: VoteCast, key: string | null): string | null {
  if (!vote.voteId) return 'empty voteId';
  if (!vote.surveyId) return 'empty surveyId';
  if (!vote.voterId) return 'empty voterId';
  if (key === null || surveyIdOfKey(key) !== vote.surveyId) return 'key does not match surveyId';
  let questions = 0;
  for (const question in vote.answers) {
    questions += 1;
    const options = vote.answers[question]!;
    if (options.length === 0) return `question ${question} has no option`;
    if (options.length > 1 && new Set(options).size !== options.length) return `question ${question} repeats an option`;
  }
  if (questions === 0) return 'no answer';
  return null;
}
