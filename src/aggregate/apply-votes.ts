// The counting core: docs/counting-rules.md ("Applying an accepted vote") as a pure function over
// a state interface. No I/O, no clock, no Kafka, RocksDB or Redis: the processor gives it a state
// whose one-vote ledger was loaded for the batch, tests give it a plain in-memory state
// (memory-counting-state.ts), and both get the same answers. Records reach it already read
// (record-reader.ts): chained, decoded and structurally valid; invalid ones never get here.
import type { VoteCast } from '../vote-codec.js';
import { countOptions, regionOf, type SurveyTally } from './survey-tally.js';

export const MINUTE_MS = 60_000;

/** What the counting rules read and change in one partition. */
export interface CountingState {
  /**
   * The question ids this voter has counted answers for in this survey, or undefined before the
   * voter's first counted vote. The array belongs to the state: applyVote never changes it.
   */
  answeredQuestions(surveyId: string, voterId: string): readonly string[] | undefined;
  /** The voter's counted question ids after an accepted vote (the old ones, then the new ones). */
  setAnsweredQuestions(surveyId: string, voterId: string, questions: string[]): void;
  /** The survey's counts in this partition, created empty on first use; changed in place. */
  surveyTally(surveyId: string): SurveyTally;
  /** One more accepted record of the survey in this event-time minute (epoch minute). */
  countMinute(surveyId: string, minute: number): void;
}

export type VoteOutcome = 'accepted' | 'duplicate';

/**
 * Applies one valid vote: each question not yet answered by this voter counts (every option, and
 * per region when the vote has one); the voter's first counted vote adds a response; an accepted
 * record adds one to its event-time minute. A vote whose every question was answered before is a
 * duplicate and changes nothing.
 */
export function applyVote(state: CountingState, vote: VoteCast): VoteOutcome {
  const { surveyId, voterId, answers, region } = vote;
  const before = state.answeredQuestions(surveyId, voterId);
  let questions: string[] | undefined;
  let tally: SurveyTally | undefined;
  for (const questionId in answers) {
    if (before !== undefined && before.includes(questionId)) continue;
    if (questions === undefined) {
      questions = before === undefined ? [] : before.slice();
      tally = state.surveyTally(surveyId);
    }
    questions.push(questionId);
    const options = answers[questionId]!;
    countOptions(tally!.votes, questionId, options);
    if (region !== null) countOptions(regionOf(tally!, region).votes, questionId, options);
  }
  if (questions === undefined) return 'duplicate';
  state.setAnsweredQuestions(surveyId, voterId, questions);
  if (before === undefined) {
    tally!.responses++;
    if (region !== null) regionOf(tally!, region).responses++;
  }
  if (vote.castAt > tally!.lastCastAt) tally!.lastCastAt = vote.castAt;
  state.countMinute(surveyId, Math.floor(vote.castAt / MINUTE_MS));
  return 'accepted';
}

/** applyVote over valid votes in offset order; the accepted and duplicate counts. */
export function applyVotes(state: CountingState, votes: Iterable<VoteCast>): { accepted: number; duplicate: number } {
  let accepted = 0;
  let duplicate = 0;
  for (const vote of votes) {
    if (applyVote(state, vote) === 'accepted') accepted++;
    else duplicate++;
  }
  return { accepted, duplicate };
}
