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
  /**
   * The voter's counted question ids after an accepted vote (the old ones, then the new ones). The
   * array is applyVote's and is reused by its next call: a state that keeps the list copies it
   * (voter-ledger.ts usually finds an equal list it already holds, so most votes copy nothing).
   */
  setAnsweredQuestions(surveyId: string, voterId: string, questions: readonly string[]): void;
  /** The survey's counts in this partition, created empty on first use; changed in place. */
  surveyTally(surveyId: string): SurveyTally;
  /** One more accepted record of the survey in this event-time minute (epoch minute). */
  countMinute(surveyId: string, minute: number): void;
}

export type VoteOutcome = 'accepted' | 'duplicate';

/**
 * The voter's question ids after the vote being applied, one array reused from vote to vote: a new
 * list per accepted vote was a tenth of the worker's allocations (an empty array grows to 17 slots
 * on its first push), and the ledger keeps one shared copy of each list anyway.
 */
const questionsAfter: string[] = [];

/**
 * Applies one valid vote: each question not yet answered by this voter counts (every option, and
 * per region when the vote has one); the voter's first counted vote adds a response; an accepted
 * record adds one to its event-time minute. A vote whose every question was answered before is a
 * duplicate and changes nothing.
 */
export function applyVote(state: CountingState, vote: VoteCast): VoteOutcome {
  const { surveyId, voterId, answers, region } = vote;
  const before = state.answeredQuestions(surveyId, voterId);
  let count = 0;
  let tally: SurveyTally | undefined;
  for (const questionId in answers) {
    if (before !== undefined && before.includes(questionId)) continue;
    if (tally === undefined) {
      tally = state.surveyTally(surveyId);
      if (before !== undefined) for (; count < before.length; count++) questionsAfter[count] = before[count]!;
    }
    questionsAfter[count++] = questionId;
    const options = answers[questionId]!;
    countOptions(tally.votes, questionId, options);
    if (region !== null) countOptions(regionOf(tally, region).votes, questionId, options);
  }
  if (tally === undefined) return 'duplicate';
  questionsAfter.length = count; // never 0 here, so V8 keeps the array's backing store for the next vote
  state.setAnsweredQuestions(surveyId, voterId, questionsAfter);
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
