// GET /v1/internal/surveys/:id/results: the live partial tallies of every partition in Redis
// (HASH tally:survey:<id>, one JSON SurveyPartial per partition, written by the aggregator),
// summed, merged with the survey's questions and options from PostgreSQL. Options nobody chose
// show 0; counts for ids no longer in the survey (edited before publishing) are not shown.
import type { Redis } from 'ioredis';
import { TallyError } from '../errors.js';
import { surveyHashKey, type SurveyPartial } from '../partition-tally.js';
import { callService } from './service-errors.js';
import type { SurveyView } from './survey-model.js';

export interface SurveyResults {
  survey: { id: string; title: string };
  totalResponses: number;
  questions: {
    id: string;
    title: string;
    order: number;
    options: { id: string; text: string; image: string | null; order: number; votes: number }[];
  }[];
}

export async function readSurveyResults(redis: Redis, survey: SurveyView): Promise<SurveyResults> {
  const partials = await callService('redis', () => redis.hvals(surveyHashKey(survey.id)));
  let totalResponses = 0;
  const votes = new Map<string, number>(); // "question\0option" → votes
  for (const json of partials) {
    let partial: SurveyPartial;
    try {
      partial = JSON.parse(json) as SurveyPartial;
    } catch (error) {
      throw new TallyError('TALLY_ERR_INTERNAL', `unreadable partial tally of survey ${survey.id}`, { cause: error });
    }
    totalResponses += partial.responses;
    for (const [questionId, options] of Object.entries(partial.votes)) {
      for (const [optionId, n] of Object.entries(options)) {
        const key = `${questionId}\0${optionId}`;
        votes.set(key, (votes.get(key) ?? 0) + n);
      }
    }
  }
  return {
    survey: { id: survey.id, title: survey.title },
    totalResponses,
    questions: survey.questions.map((q) => ({
      id: q.id,
      title: q.title,
      order: q.order,
      options: q.options.map((o) => ({ id: o.id, text: o.text, image: o.image, order: o.order, votes: votes.get(`${q.id}\0${o.id}`) ?? 0 })),
    })),
  };
}
