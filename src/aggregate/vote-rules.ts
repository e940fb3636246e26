// The structural rules of docs/counting-rules.md ("Records"): what makes a decoded vote invalid.
// The aggregator has no survey definitions; ingest already checked questions and options.
// The rules are checked in this order (the first broken one is the DLQ reason): ids, key, answers.
// The reader (record-reader.ts) runs the three parts itself so that it can compare the key with the
// survey id byte for byte instead of decoding the key.
import { surveyIdOfKey } from '../partition-key.js';
import type { VoteCast } from '../vote-codec.js';

/** Returns why the vote is invalid, or null when it may be counted. */
export function structuralProblem(vote: VoteCast, key: string | null): string | null {
  return idsProblem(vote) ?? keyProblem(vote, key) ?? answersProblem(vote);
}

/** An empty voteId, surveyId or voterId. */
export function idsProblem(vote: VoteCast): string | null {
  if (!vote.voteId) return 'voteId is empty';
  if (!vote.surveyId) return 'surveyId is empty';
  if (!vote.voterId) return 'voterId is empty';
  return null;
}

/** A record key that is missing or not for the vote's survey. */
export function keyProblem(vote: VoteCast, key: string | null): string | null {
  if (key === null) return 'record key is null';
  if (surveyIdOfKey(key) !== vote.surveyId) return `record key ${JSON.stringify(key)} is not for survey ${JSON.stringify(vote.surveyId)}`;
  return null;
}

/** No question, a question without option, or an option twice in one question. */
export function answersProblem(vote: VoteCast): string | null {
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
