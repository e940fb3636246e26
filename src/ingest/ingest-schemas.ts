// JSON schemas of every ingest request (Fastify route schemas; Ajv runs with removeAdditional and
// coerceTypes off, so unknown fields and wrong types are 400 TALLY_ERR_VALIDATION, never silently
// dropped or converted). Sizes are capped here; the body size is capped by TALLY_BODY_LIMIT_BYTES.
const id = { type: 'string', pattern: '^[1-9][0-9]{0,17}$' } as const;

export const LIMITS = {
  title: 500,
  optionText: 500,
  imageUrl: 2048,
  questions: 100,
  optionsPerQuestion: 100,
  shards: 1024,
  region: 64,
  answerText: 2000,
  idempotencyKey: 128,
} as const;

const order = { type: 'integer', minimum: 0, maximum: 1_000_000 } as const;

const option = (withId: boolean) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: {
      ...(withId ? { id } : {}),
      text: { type: 'string', minLength: 1, maxLength: LIMITS.optionText },
      image: { anyOf: [{ type: 'string', maxLength: LIMITS.imageUrl, pattern: '^https?://' }, { type: 'null' }] },
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
      title: { type: 'string', minLength: 1, maxLength: LIMITS.title },
      min: { type: 'integer', minimum: 0, maximum: LIMITS.optionsPerQuestion },
      max: { type: 'integer', minimum: 1, maximum: LIMITS.optionsPerQuestion },
      order,
      options: { type: 'array', maxItems: LIMITS.optionsPerQuestion, items: option(withId) },
    },
  }) as const;

const title = { type: 'string', minLength: 1, maxLength: LIMITS.title } as const;
const shards = { type: 'integer', minimum: 1, maximum: LIMITS.shards } as const;

export const surveyParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id } } as const;

export const createSurveyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'questions'],
  properties: { title, shards, questions: { type: 'array', maxItems: LIMITS.questions, items: question(false) } },
} as const;

export const updateSurveyBody = {
  type: 'object',
  additionalProperties: false,
  properties: { title, shards, questions: { type: 'array', maxItems: LIMITS.questions, items: question(true) } },
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
    region: { anyOf: [{ type: 'string', minLength: 1, maxLength: LIMITS.region, pattern: '^[A-Za-z0-9_.-]+$' }, { type: 'null' }] },
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
    text: { type: 'string', maxLength: LIMITS.answerText },
    region: voteBody.properties.region,
  },
} as const;

export const answerSessionParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'answerId'],
  properties: { id, answerId: id },
} as const;
