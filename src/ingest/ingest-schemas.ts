// JSON schemas of every ingest request (Fastify route schemas; Ajv runs with removeAdditional and
// coerceTypes off, so unknown fields and wrong types are 400 TALLY_ERR_VALIDATION, never silently
// dropped or converted). Sizes are capped here; the body size is capped by TALLY_BODY_LIMIT_BYTES.
import { TEXT_FORMAT } from '../role-server.js';
import { voteReceiptSchema } from './vote-receipt.js';

const id = { type: 'string', pattern: '^[1-9][0-9]{0,17}$' } as const;
/** Free text: no NUL (PostgreSQL cannot store it), no unpaired surrogate (400 TALLY_ERR_INVALID_TEXT). */
const text = (minLength: number, maxLength: number) => ({ type: 'string', format: TEXT_FORMAT, minLength, maxLength }) as const;

export const LIMITS = {
  title: 500,
  optionText: 500,
  imageUrl: 2048,
  questions: 100,
  optionsPerQuestion: 100,
  shards: 1024,
  region: 64,
  regionsPerSurvey: 100,
  answerText: 2000,
  idempotencyKey: 128,
} as const;

/** OpenAPI security requirements (schemes declared in ingest-app.ts). */
export const ADMIN_SECURITY = [{ adminToken: [] }];
export const VOTER_SECURITY = [{ voterToken: [] }];

const order = { type: 'integer', minimum: 0, maximum: 1_000_000 } as const;

const option = (withId: boolean) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: {
      ...(withId ? { id } : {}),
      text: text(1, LIMITS.optionText),
      image: { anyOf: [{ ...text(0, LIMITS.imageUrl), pattern: '^https?://' }, { type: 'null' }] },
      order,
    },
  }) as const;

const question = (withId: boolean) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['title', 'options'],
    properties: {
      ...(withId ? { id } : {}),
      title: text(1, LIMITS.title),
      min: { type: 'integer', minimum: 0, maximum: LIMITS.optionsPerQuestion },
      max: { type: 'integer', minimum: 1, maximum: LIMITS.optionsPerQuestion },
      order,
      options: { type: 'array', maxItems: LIMITS.optionsPerQuestion, items: option(withId) },
    },
  }) as const;

const title = text(1, LIMITS.title);
const shards = { type: 'integer', minimum: 1, maximum: LIMITS.shards } as const;
/** A region name: what a vote's `region` may be, and what a survey declares. */
const regionName = { type: 'string', minLength: 1, maxLength: LIMITS.region, pattern: '^[A-Za-z0-9_.-]+$' } as const;
/** The regions a survey's votes may name: declared by the survey, so voters cannot create regions. */
const regions = { type: 'array', maxItems: LIMITS.regionsPerSurvey, uniqueItems: true, items: regionName } as const;

export const surveyParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id } } as const;

export const createSurveyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'questions'],
  properties: { title, shards, regions, questions: { type: 'array', maxItems: LIMITS.questions, items: question(false) } },
} as const;

export const updateSurveyBody = {
  type: 'object',
  additionalProperties: false,
  properties: { title, shards, regions, questions: { type: 'array', maxItems: LIMITS.questions, items: question(true) } },
} as const;

/** Idempotency-Key header (optional; other headers pass). */
export const idempotencyHeaders = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: LIMITS.idempotencyKey, pattern: '^[\\x21-\\x7e]+$' } },
} as const;

/** POST /v1/surveys/:id/votes: `{ answers: { questionId: [optionId, …] }, region? }`. */
export const voteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['answers'],
  properties: {
    answers: {
      type: 'object',
      minProperties: 1,
      maxProperties: LIMITS.questions,
      propertyNames: id,
      additionalProperties: { type: 'array', minItems: 1, maxItems: LIMITS.optionsPerQuestion, uniqueItems: true, items: id },
    },
    /** one of the survey's declared `regions` (vote-validation.ts), or null */
    region: { anyOf: [regionName, { type: 'null' }] },
  },
} as const;

/** 202 of POST /v1/surveys/:id/votes (documentation: the route sends the body it serialized once, vote-routes.ts). */
export const voteAccepted = {
  type: 'object',
  required: ['voteId', 'surveyId', 'partition', 'offset', 'alreadyAnswered', 'receipt'],
  properties: {
    voteId: { type: 'string', format: 'uuid' },
    surveyId: id,
    partition: { type: 'integer', minimum: 0 },
    offset: { type: 'string', pattern: '^[0-9]+$', description: 'Kafka offset (int64 as a decimal string)' },
    alreadyAnswered: { type: 'array', items: id, description: 'questions this voter had answered before: the first answers count' },
    receipt: voteReceiptSchema,
  },
} as const;

/** POST /v1/surveys/:id/answers: one answer; `surveyAnswerId` on every answer after the first. */
export const answerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['question', 'option'],
  properties: {
    surveyAnswerId: id,
    question: id,
    option: id,
    text: text(0, LIMITS.answerText),
    region: voteBody.properties.region,
  },
} as const;

export const answerSessionParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'answerId'],
  properties: { id, answerId: id },
} as const;
