// The generator's own count of what the aggregator must end with, by the rules of
// docs/counting-rules.md: a voter's first answer to a question counts, later ones are duplicates;
// `responses` counts distinct voters with a counted answer; regions likewise; invalid records
// change nothing.
//
// The generator gives each voter ONE fixed choice per question and ONE fixed region, so the final
// counts do not depend on the order in which the aggregator sees a voter's records (only on the
// set of questions the voter answered). That keeps the check exact even if a producer retry
// reorders or repeats a batch.
import type { OptionCounts, RegionTally } from '../../src/partition-tally.js';

export interface SurveyCounts {
  responses: number;
  votes: OptionCounts;
  regions: { [region: string]: RegionTally };
}

export type Outcome = 'accepted' | 'duplicate' | 'invalid';

export class ExpectedTally {
  readonly surveys = new Map<string, SurveyCounts>();
  readonly outcomes: Record<Outcome, number> = { accepted: 0, duplicate: 0, invalid: 0 };

  private survey(surveyId: string): SurveyCounts {
    let counts = this.surveys.get(surveyId);
    if (!counts) {
      counts = { responses: 0, votes: {}, regions: {} };
      this.surveys.set(surveyId, counts);
    }
    return counts;
  }

  invalid(): void {
    this.outcomes.invalid += 1;
  }

  /**
   * Applies one valid record of a voter. `answeredBefore` / `answersNow` are bit masks of question
   * indexes (bit q = question q); `choices(q)` gives the voter's option ids for question q.
   * Returns the outcome and the voter's new mask.
   */
  apply(
    surveyId: string,
    questionIds: readonly string[],
    answeredBefore: number,
    answersNow: number,
    choices: (q: number) => readonly string[],
    region: string | null,
  ): { outcome: Outcome; answered: number } {
    const fresh = answersNow & ~answeredBefore;
    if (fresh === 0) {
      this.outcomes.duplicate += 1;
      return { outcome: 'duplicate', answered: answeredBefore };
    }
    const counts = this.survey(surveyId);
    const regionCounts = region === null ? undefined : (counts.regions[region] ??= { responses: 0, votes: {} });
    for (let q = 0; q < questionIds.length; q++) {
      if ((fresh & (1 << q)) === 0) continue;
      const questionId = questionIds[q]!;
      const perOption = (counts.votes[questionId] ??= {});
      const regionPerOption = regionCounts ? (regionCounts.votes[questionId] ??= {}) : undefined;
      for (const optionId of choices(q)) {
        perOption[optionId] = (perOption[optionId] ?? 0) + 1;
        if (regionPerOption) regionPerOption[optionId] = (regionPerOption[optionId] ?? 0) + 1;
      }
    }
    if (answeredBefore === 0) {
      counts.responses += 1;
      if (regionCounts) regionCounts.responses += 1;
    }
    this.outcomes.accepted += 1;
    return { outcome: 'accepted', answered: answeredBefore | fresh };
  }
}
