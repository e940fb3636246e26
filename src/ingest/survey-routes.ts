// Survey management (admin token) and the public survey read.
//
//   POST   /v1/internal/surveys              201 survey          (draft)
//   PUT    /v1/internal/surveys/:id          200 survey          (drafts only, else 409)
//   PUT    /v1/internal/surveys/:id/publish  200 lifecycle view  (draft → published, sets startDate)
//   PUT    /v1/internal/surveys/:id/finish   200 lifecycle view  (published → finished, sets finishDate)
//   DELETE /v1/internal/surveys/:id          204
//   GET    /v1/internal/surveys/:id          200 survey          (any state)
//   GET    /v1/internal/surveys/:id/results  200 results         (live tallies from Redis)
//   GET    /v1/surveys/:id                   200 survey          (public: published or finished; drafts are 404)
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { TallyError } from '../errors.js';
import { ADMIN_SECURITY, createSurveyBody, surveyParams, updateSurveyBody } from './ingest-schemas.js';
import type { SurveyCatalog } from './survey-catalog.js';
import { lifecycleView, type SurveyInput, type SurveyUpdate, type SurveyView } from './survey-model.js';
import { readSurveyResults } from './survey-results.js';
import type { SurveyStore } from './survey-store.js';

export interface SurveyRoutesOptions {
  store: SurveyStore;
  catalog: SurveyCatalog;
  redis: Redis;
  requireAdmin: onRequestAsyncHookHandler;
  limitPerIp: onRequestAsyncHookHandler;
}

type IdParams = { id: string };

export const surveyRoutes: FastifyPluginAsync<SurveyRoutesOptions> = async (app, { store, catalog, redis, requireAdmin, limitPerIp }) => {
  const admin = { onRequest: [limitPerIp, requireAdmin] };
  const found = (survey: SurveyView | null, id: string): SurveyView => {
    if (survey === null) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${id}`);
    return survey;
  };

  app.post<{ Body: SurveyInput }>('/v1/internal/surveys', { ...admin, schema: { tags: ['survey management'], summary: 'create a survey (draft)', security: ADMIN_SECURITY, body: createSurveyBody } }, async (request, reply) => {
    return reply.status(201).send(await store.create(request.body));
  });

  app.get<{ Params: IdParams }>('/v1/internal/surveys/:id', { ...admin, schema: { tags: ['survey management'], summary: 'a survey in any state', security: ADMIN_SECURITY, params: surveyParams } }, async (request) => {
    return found(await store.get(request.params.id), request.params.id);
  });

  app.put<{ Params: IdParams; Body: SurveyUpdate }>(
    '/v1/internal/surveys/:id',
    { ...admin, schema: { tags: ['survey management'], summary: 'edit a draft (items with id kept, without id created, omitted deleted)', security: ADMIN_SECURITY, params: surveyParams, body: updateSurveyBody } },
    async (request) => {
      const survey = await store.update(request.params.id, request.body);
      catalog.invalidate(survey.id);
      return survey;
    },
  );

  app.put<{ Params: IdParams }>('/v1/internal/surveys/:id/publish', { ...admin, schema: { tags: ['survey management'], summary: 'draft → published', security: ADMIN_SECURITY, params: surveyParams } }, async (request) => {
    const survey = await store.publish(request.params.id);
    catalog.invalidate(survey.id);
    return lifecycleView(survey);
  });

  app.put<{ Params: IdParams }>('/v1/internal/surveys/:id/finish', { ...admin, schema: { tags: ['survey management'], summary: 'published → finished', security: ADMIN_SECURITY, params: surveyParams } }, async (request) => {
    const survey = await store.finish(request.params.id);
    catalog.invalidate(survey.id);
    return lifecycleView(survey);
  });

  app.delete<{ Params: IdParams }>('/v1/internal/surveys/:id', { ...admin, schema: { tags: ['survey management'], summary: 'delete a survey with its questions, options and answer sessions', security: ADMIN_SECURITY, params: surveyParams } }, async (request, reply) => {
    await store.delete(request.params.id);
    catalog.invalidate(request.params.id);
    return reply.status(204).send();
  });

  app.get<{ Params: IdParams }>('/v1/internal/surveys/:id/results', { ...admin, schema: { tags: ['survey management'], summary: 'live results (partial tallies of every partition)', security: ADMIN_SECURITY, params: surveyParams } }, async (request) => {
    return readSurveyResults(redis, found(await store.get(request.params.id), request.params.id));
  });

  app.get<{ Params: IdParams }>('/v1/surveys/:id', { onRequest: [limitPerIp], schema: { tags: ['surveys'], summary: 'a published or finished survey', params: surveyParams } }, async (request, reply) => {
    const entry = await catalog.get(request.params.id);
    if (entry === null || entry.survey.status === 'draft') throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${request.params.id}`);
    return reply.type('application/json; charset=utf-8').send(entry.publicJson);
  });
};
