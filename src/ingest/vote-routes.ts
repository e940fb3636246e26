// Vote submission (voter token). Two forms, one event type and one set of one-vote rules:
//
//   POST /v1/surveys/:id/votes                       { answers: { q: [o, …] }, region? } → 202 { voteId, surveyId, partition, offset, alreadyAnswered, receipt }
//   POST /v1/surveys/:id/answers                     { question, option, text?, surveyAnswerId? } → 202 (one VoteCast with one question)
//   PUT  /v1/surveys/:id/answers/:answerId/finish    → 200 session
//
// Per request: rate limit (IP, in process) → token → schema → survey exists / open → answers valid
// → cast (one Redis script: voter rate limit, Idempotency-Key, claims → encode → produce → ack →
// confirm). See README.md.
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Voter } from './auth.js';
import type { IpRateLimit } from './ip-rate-limit.js';
import { TallyError, isTallyError, type ErrorCode } from '../errors.js';
import type { AnswerSessions, AnswerSessionView } from './answer-sessions.js';
import type { IngestMetrics, VoteOutcome } from './ingest-metrics.js';
import { answerBody, answerSessionParams, idempotencyHeaders, surveyParams, VOTER_SECURITY, voteAccepted, voteBody } from './ingest-schemas.js';
import type { CatalogSurvey, SurveyCatalog } from './survey-catalog.js';
import { voteIdFor, type CastAnswer, type CastVote, type VoteCaster } from './vote-caster.js';
import type { VoteClaims } from './vote-claims.js';
import { assertOpenForVotes, assertValidAnswers, assertValidRegion } from './vote-validation.js';
import { voteReceipt, type VoteReceipt } from './vote-receipt.js';

export interface VoteRoutesOptions {
  /** The votes topic, named in every receipt. */
  topic: string;
  catalog: SurveyCatalog;
  caster: VoteCaster;
  claims: VoteClaims;
  sessions: AnswerSessions;
  metrics: IngestMetrics;
  /** The request's voter, or throws 401 / 403 (auth.ts). */
  voterOf: (request: FastifyRequest) => Voter;
  limitPerIp: IpRateLimit;
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
  TALLY_ERR_VOTE_IN_PROGRESS: 'in_progress',
  TALLY_ERR_REQUEST_IN_PROGRESS: 'in_progress',
  TALLY_ERR_VOTE_OUTCOME_UNKNOWN: 'unknown',
  TALLY_ERR_VOTE_UNSETTLED: 'unsettled',
  TALLY_ERR_RATE_LIMITED: 'rate_limited',
};

export interface VoteAccepted {
  voteId: string;
  surveyId: string;
  partition: number;
  offset: string;
  alreadyAnswered: string[];
  receipt: VoteReceipt;
}

/**
 * The 202 of POST /v1/surveys/:id/votes: the one place its body is built (a field added here
 * belongs in ingest-schemas.ts `voteAccepted` too). `cast.value` holds the exact bytes produced.
 */
export function voteAcceptedBody(topic: string, surveyId: string, cast: CastVote): VoteAccepted {
  return { voteId: cast.voteId, surveyId, partition: cast.partition, offset: cast.offset, alreadyAnswered: cast.alreadyAnswered, receipt: voteReceipt(topic, cast) };
}

/**
 * Vote routes log through the app's logger itself, not a per-request child: Fastify builds the
 * child (bindings, redaction) for every request even with request logging off, and these routes
 * log only failures, which carry the request id themselves (role-server.ts error handler).
 */
const requestLoggerIsTheAppLogger = (logger: FastifyBaseLogger): FastifyBaseLogger => logger;

export const voteRoutes: FastifyPluginAsync<VoteRoutesOptions> = async (app, options) => {
  const { topic, catalog, caster, claims, sessions, metrics } = options;
  const { voterOf, limitPerIp } = options;
  /**
   * The per-IP limit, then the voter token, as ONE synchronous hook: two async hooks cost every
   * vote two promises and two microtask hops in Fastify's hook runner for checks that never wait.
   */
  const admitVoter: onRequestHookHandler = (request, _reply, done) => {
    try {
      limitPerIp.check(request);
      request.voter = voterOf(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };
  const voterRoute = { onRequest: admitVoter, childLoggerFactory: requestLoggerIsTheAppLogger };
  const outcomes = {
    accepted: metrics.votes.labels('accepted'),
    replayed: metrics.votes.labels('replayed'),
  };

  const openSurvey = async (id: string): Promise<CatalogSurvey> => {
    const entry = await catalog.get(id);
    if (entry === null) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${id}`);
    assertOpenForVotes(entry);
    return entry;
  };

  /** Runs a submission, counts its outcome, and sends its 202 (serialized once by the caster). */
  const submit = async (reply: FastifyReply, work: () => Promise<CastAnswer>) => {
    let answer: CastAnswer;
    try {
      answer = await work();
    } catch (error) {
      metrics.votes.inc({ outcome: isTallyError(error) ? (OUTCOME_OF[error.code] ?? 'rejected') : 'error' });
      throw error;
    }
    if (answer.replayed) {
      outcomes.replayed.inc();
      reply.header('Idempotent-Replayed', 'true');
    } else {
      outcomes.accepted.inc();
    }
    return reply.status(202).type('application/json; charset=utf-8').send(answer.body);
  };

  app.post<{ Params: { id: string }; Body: VoteBody; Headers: IdempotencyHeaders }>(
    '/v1/surveys/:id/votes',
    {
      ...voterRoute,
      schema: {
        tags: ['votes'],
        summary: 'cast a ballot: 202 once Kafka acknowledged it (failures and what to do: src/ingest/README.md)',
        security: VOTER_SECURITY,
        params: surveyParams,
        headers: idempotencyHeaders,
        body: voteBody,
        response: { 202: voteAccepted },
      },
    },
    (request, reply) =>
      submit(reply, async () => {
        const voter = request.voter!.pseudonym;
        const key = request.headers['idempotency-key'];
        const survey = await openSurvey(request.params.id);
        const { answers } = request.body;
        assertValidAnswers(survey, answers);
        assertValidRegion(survey, request.body.region);
        const surveyId = survey.survey.id;
        return caster.cast(
          { survey, voter, answers, region: request.body.region ?? null, voteId: voteIdFor(surveyId, voter, key), idempotencyKey: key },
          { respond: (cast) => voteAcceptedBody(topic, surveyId, cast) },
        );
      }),
  );

  app.post<{ Params: { id: string }; Body: AnswerBody; Headers: IdempotencyHeaders }>(
    '/v1/surveys/:id/answers',
    { ...voterRoute, schema: { tags: ['votes'], summary: 'answer one question (the first answer opens a session)', security: VOTER_SECURITY, params: surveyParams, headers: idempotencyHeaders, body: answerBody } },
    (request, reply) =>
      submit(reply, async () => {
        const voter = request.voter!.pseudonym;
        const key = request.headers['idempotency-key'];
        const body = request.body;
        const survey = await openSurvey(request.params.id);
        const surveyId = survey.survey.id;
        const answers = { [body.question]: [body.option] };
        assertValidAnswers(survey, answers);
        assertValidRegion(survey, body.region);
        const first = body.surveyAnswerId === undefined;
        // A later answer checks its session before claiming; the first opens one once claimed (not for a replay).
        let session: AnswerSessionView | null = first ? null : await sessions.openSession(body.surveyAnswerId!, surveyId, voter);
        const vote = { survey, voter, answers, region: body.region ?? null, voteId: voteIdFor(surveyId, voter, key), idempotencyKey: key };
        try {
          return await caster.cast(vote, {
            prepare: first ? async () => void (session = await sessions.open(surveyId, voter)) : undefined,
            respond: (cast) => {
              const questionAnswer = {
                id: cast.voteId,
                surveyAnswer: session!.id,
                question: body.question,
                option: body.option,
                text: body.text ?? '',
                partition: cast.partition,
                offset: cast.offset,
                receipt: voteReceipt(topic, cast),
              };
              return first ? { surveyAnswer: session, questionAnswer } : questionAnswer;
            },
          });
        } catch (error) {
          // Nothing half-written: a first answer that certainly did not reach Kafka leaves no session.
          if (first && session !== null && !isTallyError(error, 'TALLY_ERR_VOTE_OUTCOME_UNKNOWN')) await sessions.discard(session.id).catch(() => undefined);
          throw error;
        }
      }),
  );

  app.put<{ Params: { id: string; answerId: string } }>(
    '/v1/surveys/:id/answers/:answerId/finish',
    { ...voterRoute, schema: { tags: ['votes'], summary: 'finish an answer session', security: VOTER_SECURITY, params: answerSessionParams } },
    async (request) => {
      await claims.limitVoter(request.voter!.pseudonym);
      return sessions.finish(request.params.answerId, request.params.id, request.voter!.pseudonym);
    },
  );
};
