// Vote submission (voter token). Two forms, one event type and one set of one-vote rules:
//
//   POST /v1/surveys/:id/votes                       { answers: { q: [o, …] }, region? } → 202 { voteId, surveyId, partition, offset, alreadyAnswered }
//   POST /v1/surveys/:id/answers                     { question, option, text?, surveyAnswerId? } → 202 (one VoteCast with one question)
//   PUT  /v1/surveys/:id/answers/:answerId/finish    → 200 session
//
// Per request: rate limit (IP) → token → rate limit (voter) → schema → idempotency → survey
// exists / open → answers valid → cast (claim → encode → produce → ack). See README.md.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { TallyError, isTallyError, type ErrorCode } from '../errors.js';
import type { AnswerSessions, AnswerSessionView } from './answer-sessions.js';
import type { Voter } from './auth.js';
import { IdempotencyStore, type StoredResponse } from './idempotency-store.js';
import type { IngestMetrics, VoteOutcome } from './ingest-metrics.js';
import { answerBody, answerSessionParams, idempotencyHeaders, surveyParams, voteBody } from './ingest-schemas.js';
import type { CatalogSurvey, SurveyCatalog } from './survey-catalog.js';
import { voteIdFor, type VoteCaster } from './vote-caster.js';
import { assertOpenForVotes, assertValidAnswers } from './vote-validation.js';

export interface VoteRoutesOptions {
  catalog: SurveyCatalog;
  caster: VoteCaster;
  idempotency: IdempotencyStore;
  sessions: AnswerSessions;
  metrics: IngestMetrics;
  requireVoter: onRequestAsyncHookHandler;
  limitPerIp: onRequestAsyncHookHandler;
  limitPerVoter: onRequestAsyncHookHandler;
}

interface VoteBody {
  answers: Record<string, string[]>;
  region?: string | null;
}

interface AnswerBody {
  surveyAnswerId?: string;
  question: string;
  option: string;
  text?: string;
  region?: string | null;
}

type IdempotencyHeaders = { 'idempotency-key'?: string };

const OUTCOME_OF: Partial<Record<ErrorCode, VoteOutcome>> = {
  TALLY_ERR_DUPLICATE_VOTE: 'duplicate',
  TALLY_ERR_INVALID_ANSWER: 'invalid',
  TALLY_ERR_SURVEY_NOT_FOUND: 'not_found',
  TALLY_ERR_SURVEY_NOT_PUBLISHED: 'closed',
  TALLY_ERR_SURVEY_FINISHED: 'closed',
  TALLY_ERR_ANSWER_SESSION_FINISHED: 'closed',
  TALLY_ERR_UNAVAILABLE: 'unavailable',
  TALLY_ERR_OVERLOADED: 'overloaded',
};

export const voteRoutes: FastifyPluginAsync<VoteRoutesOptions> = async (app, options) => {
  const { catalog, caster, idempotency, sessions, metrics } = options;
  const voterRoute = { onRequest: [options.limitPerIp, options.requireVoter, options.limitPerVoter] };

  const openSurvey = async (id: string): Promise<CatalogSurvey> => {
    const entry = await catalog.get(id);
    if (entry === null) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${id}`);
    assertOpenForVotes(entry);
    return entry;
  };

  /** Runs a submission once per Idempotency-Key, counts its outcome, and sends its response. */
  const submit = async (
    request: FastifyRequest<{ Params: { id: string }; Headers: IdempotencyHeaders }>,
    reply: FastifyReply,
    work: (voter: Voter, voteId: string) => Promise<StoredResponse>,
  ) => {
    const voter = request.voter!;
    const surveyId = request.params.id;
    const key = request.headers['idempotency-key'];
    const voteId = voteIdFor(surveyId, voter.pseudonym, key);
    try {
      const response =
        key === undefined
          ? { ...(await work(voter, voteId)), replayed: false }
          : await idempotency.run(IdempotencyStore.key(surveyId, voter.pseudonym, key), () => work(voter, voteId));
      metrics.votes.inc({ outcome: response.replayed ? 'replayed' : 'accepted' });
      if (response.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.status(response.status).send(response.body);
    } catch (error) {
      metrics.votes.inc({ outcome: isTallyError(error) ? (OUTCOME_OF[error.code] ?? 'rejected') : 'error' });
      throw error;
    }
  };

  app.post<{ Params: { id: string }; Body: VoteBody; Headers: IdempotencyHeaders }>(
    '/v1/surveys/:id/votes',
    { ...voterRoute, schema: { params: surveyParams, headers: idempotencyHeaders, body: voteBody } },
    (request, reply) =>
      submit(request, reply, async (voter, voteId) => {
        const survey = await openSurvey(request.params.id);
        assertValidAnswers(survey, request.body.answers);
        const cast = await caster.cast({ survey, voter: voter.pseudonym, answers: request.body.answers, region: request.body.region ?? null, voteId });
        return { status: 202, body: { voteId: cast.voteId, surveyId: survey.survey.id, partition: cast.partition, offset: cast.offset, alreadyAnswered: cast.alreadyAnswered } };
      }),
  );

  app.post<{ Params: { id: string }; Body: AnswerBody; Headers: IdempotencyHeaders }>(
    '/v1/surveys/:id/answers',
    { ...voterRoute, schema: { params: surveyParams, headers: idempotencyHeaders, body: answerBody } },
    (request, reply) =>
      submit(request, reply, async (voter, voteId) => {
        const body = request.body;
        const survey = await openSurvey(request.params.id);
        const answers = { [body.question]: [body.option] };
        assertValidAnswers(survey, answers);
        const first = body.surveyAnswerId === undefined;
        const session: AnswerSessionView = first
          ? await sessions.open(survey.survey.id, voter.pseudonym)
          : await sessions.openSession(body.surveyAnswerId!, survey.survey.id, voter.pseudonym);
        let cast;
        try {
          cast = await caster.cast({ survey, voter: voter.pseudonym, answers, region: body.region ?? null, voteId });
        } catch (error) {
          if (first) await sessions.discard(session.id).catch(() => undefined); // nothing half-written
          throw error;
        }
        const questionAnswer = {
          id: cast.voteId,
          surveyAnswer: session.id,
          question: body.question,
          option: body.option,
          text: body.text ?? '',
          partition: cast.partition,
          offset: cast.offset,
        };
        return { status: 202, body: first ? { surveyAnswer: session, questionAnswer } : questionAnswer };
      }),
  );

  app.put<{ Params: { id: string; answerId: string } }>(
    '/v1/surveys/:id/answers/:answerId/finish',
    { ...voterRoute, schema: { params: answerSessionParams } },
    async (request) => sessions.finish(request.params.answerId, request.params.id, request.voter!.pseudonym),
  );
};
