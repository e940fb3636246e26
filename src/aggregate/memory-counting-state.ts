// CountingState in plain maps: the counting core's state with nothing behind it, for unit tests
// and for reading the rules (apply-votes.ts). The aggregator's own state is partition-state.ts.
import type { CountingState } from './apply-votes.js';
import { MinuteBuckets, emptySurveyTally, type SurveyTally } from './survey-tally.js';

export class MemoryCountingState implements CountingState {
  readonly surveys = new Map<string, SurveyTally>();
  readonly minutes = new Map<string, MinuteBuckets>();
  /** surveyId → voterId → counted question ids */
  readonly ledger = new Map<string, Map<string, string[]>>();

  answeredQuestions(surveyId: string, voterId: string): readonly string[] | undefined {
    return this.ledger.get(surveyId)?.get(voterId);
  }

  setAnsweredQuestions(surveyId: string, voterId: string, questions: readonly string[]): void {
    let voters = this.ledger.get(surveyId);
    if (!voters) this.ledger.set(surveyId, (voters = new Map()));
    voters.set(voterId, questions.slice()); // applyVote reuses its array
  }

  surveyTally(surveyId: string): SurveyTally {
    let tally = this.surveys.get(surveyId);
    if (!tally) this.surveys.set(surveyId, (tally = emptySurveyTally()));
    return tally;
  }

  countMinute(surveyId: string, minute: number): void {
    let buckets = this.minutes.get(surveyId);
    if (!buckets) this.minutes.set(surveyId, (buckets = new MinuteBuckets()));
    buckets.add(minute);
  }
}
