// The error catalogue: every error the system reports by name. Each code has an HTTP status (for
// errors that reach a client), a message, and how to solve it. docs: README "Error codes".
// Add new codes here, in the section of the role that raises them; test/errors.test.ts checks
// that every code is well-formed and documented.

export interface ErrorSpec {
  status: number;
  message: string;
  howToSolve: string;
}

export const errorCatalogue = {
  // ---- shared
  TALLY_ERR_CONFIG: { status: 500, message: 'Invalid configuration', howToSolve: 'Fix the named environment variables (see README "Configuration").' },
  TALLY_ERR_UNAVAILABLE: { status: 503, message: 'A required service is unavailable', howToSolve: 'Retry after the Retry-After delay; operators: check `npm run stack -- status` and /readyz.' },
  TALLY_ERR_OVERLOADED: { status: 503, message: 'Server overloaded', howToSolve: 'Retry after the Retry-After delay, or add capacity.' },
  TALLY_ERR_VALIDATION: { status: 400, message: 'Request does not match the schema', howToSolve: 'Fix the request body or parameters as described in the message.' },
  TALLY_ERR_BAD_JSON: { status: 400, message: 'Body is not valid JSON', howToSolve: 'Send a well-formed JSON body with Content-Type: application/json.' },
  TALLY_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body too large', howToSolve: 'Send a smaller body (limit: TALLY_BODY_LIMIT_BYTES).' },
  TALLY_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests', howToSolve: 'Wait for the Retry-After delay before sending more.' },
  TALLY_ERR_NOT_FOUND: { status: 404, message: 'No such route', howToSolve: 'Check the method and path against the API reference.' },
  TALLY_ERR_BAD_REQUEST: { status: 400, message: 'Malformed HTTP request', howToSolve: 'Send a well-formed HTTP/1.1 request (request line, headers, Content-Length or chunked body).' },
  TALLY_ERR_BAD_URL: { status: 400, message: 'The URL cannot be decoded', howToSolve: 'Percent-encode the path correctly (every % followed by two hex digits, UTF-8 underneath).' },
  TALLY_ERR_PATH_TOO_LONG: { status: 414, message: 'A path parameter is too long', howToSolve: 'Path parameters (ids) have at most 100 characters; check the URL.' },
  TALLY_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'Request headers (or URL) too large', howToSolve: 'Send smaller headers and a shorter URL and query (16 KiB in all).' },
  TALLY_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Content-Type', howToSolve: 'Send the body as Content-Type: application/json.' },
  TALLY_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time', howToSolve: 'Send the whole request promptly; retry on a new connection.' },
  TALLY_ERR_INVALID_TEXT: { status: 400, message: 'Text contains a NUL character or an unpaired UTF-16 surrogate', howToSolve: 'Send valid Unicode text without U+0000; characters outside the Basic Multilingual Plane need both halves of their surrogate pair.' },
  TALLY_ERR_INTERNAL: { status: 500, message: 'Internal error', howToSolve: 'Report it with the request id from the logs.' },

  // ---- auth
  TALLY_ERR_UNAUTHORIZED: { status: 401, message: 'Missing or invalid bearer token', howToSolve: 'Send Authorization: Bearer <token>; mint one with `tally token`.' },
  TALLY_ERR_FORBIDDEN: { status: 403, message: 'Token lacks the required scope', howToSolve: 'Use a token with the needed scope (admin endpoints need `tally token --admin`).' },

  // ---- ingest
  TALLY_ERR_SURVEY_NOT_FOUND: { status: 404, message: 'Survey not found', howToSolve: 'Check the survey id.' },
  TALLY_ERR_SURVEY_NOT_PUBLISHED: { status: 409, message: 'Survey is not published', howToSolve: 'Publish the survey before voting (PUT /v1/internal/surveys/:id/publish).' },
  TALLY_ERR_SURVEY_FINISHED: { status: 409, message: 'Survey is finished', howToSolve: 'Votes are no longer accepted for this survey.' },
  TALLY_ERR_SURVEY_STATE: { status: 409, message: 'Operation not allowed in the survey state', howToSolve: 'Only drafts can be edited; publish before finishing.' },
  TALLY_ERR_INVALID_ANSWER: { status: 422, message: 'Answer does not match the survey', howToSolve: 'Use question and option ids of this survey, choosing between min and max options.' },
  TALLY_ERR_DUPLICATE_VOTE: { status: 409, message: 'This voter already answered this question', howToSolve: 'Only the first answer counts; nothing to do.' },
  TALLY_ERR_ANSWER_SESSION: { status: 404, message: 'Answer session not found', howToSolve: 'Use the surveyAnswerId returned by the first answer of this voter.' },
  TALLY_ERR_ANSWER_SESSION_FINISHED: { status: 409, message: 'Answer session is finished', howToSolve: 'Start a new session by answering without surveyAnswerId (questions already answered stay answered).' },
  TALLY_ERR_REQUEST_IN_PROGRESS: { status: 409, message: 'A request with this Idempotency-Key is still in progress', howToSolve: 'Retry after the Retry-After delay to get its result.' },
  TALLY_ERR_VOTE_IN_PROGRESS: { status: 409, message: 'Another vote of this voter on these questions is still being recorded', howToSolve: 'Retry after the Retry-After delay: the answer then says whether that vote was recorded (409 duplicate) or not (your vote goes ahead).' },
  TALLY_ERR_VOTE_OUTCOME_UNKNOWN: { status: 503, message: 'Kafka did not confirm the vote: it may or may not have been recorded', howToSolve: 'Send the same vote again (same answers and region, same Idempotency-Key if any) after Retry-After: it is recorded at most once and the 202 says where. The body names the voteId.' },
  TALLY_ERR_VOTE_UNSETTLED: { status: 409, message: 'An earlier vote of this voter on these questions has an unknown outcome', howToSolve: 'Send that earlier vote again unchanged (its voteId is in this body) to settle it; a different ballot cannot be accepted while the earlier one may count.' },

  // ---- aggregate
  TALLY_ERR_PARTITION_OWNED: { status: 500, message: 'Partition state is open elsewhere', howToSolve: 'Another thread or process still holds the RocksDB directory; wait for it to release.' },
  TALLY_ERR_PARTITION_COUNT: {
    status: 500,
    message: 'The votes topic has another partition count than tally recorded for it',
    howToSolve:
      'Survey keys hash to partitions by the count, and the one-vote ledger is per partition: with another count a voter\'s votes land in two partitions and count twice. Keep the recorded count (restore the topic, TALLY_VOTES_PARTITIONS). To migrate to N partitions: stop ingest, let aggregate drain (tally lag = 0), run `tally verify`, create a NEW votes topic (TALLY_VOTES_TOPIC=votes-v2, TALLY_VOTES_PARTITIONS=N) with a fresh TALLY_DATA_DIR and consumer group, and copy every record of the old topic into it re-keyed by the same key, in offset order per old partition, with one idempotent producer; then run ingest and aggregate on the new topic (its count is recorded at its first start).',
  },
  TALLY_ERR_TOPIC_ID: {
    status: 500,
    message: 'The partition state belongs to another incarnation of the votes topic',
    howToSolve:
      'The votes topic was deleted and recreated (its id changed), so the stored offsets and counts describe records that no longer exist; the partition is stopped rather than skip or double count. If the recreation was intended: stop every aggregator, move TALLY_DATA_DIR aside and delete the topic\'s partials and status in Redis (tally:survey:*, tally:aggregate:<topic>:partitions), then start again (the partitions rebuild from the new topic). Otherwise point TALLY_VOTES_TOPIC / TALLY_KAFKA_BROKERS back at the original topic.',
  },
  TALLY_ERR_DECODE: { status: 500, message: 'Record cannot be decoded', howToSolve: 'The record went to the DLQ with its origin; inspect it there.' },

  // ---- broadcast
  TALLY_ERR_SSE_CAPACITY: { status: 503, message: 'This broadcaster process is at its connection limit', howToSolve: 'Reconnect after the Retry-After delay (another process may have room); operators: raise TALLY_BROADCAST_TARGET_CLIENTS to run more processes.' },
  TALLY_ERR_SSE_PER_IP: { status: 429, message: 'Too many open result streams from this address', howToSolve: 'Close other streams from this address or reconnect after Retry-After; operators: TALLY_SSE_MAX_PER_IP.' },

  // ---- verify
  TALLY_ERR_VERIFY_MISMATCH: { status: 500, message: 'Recount differs from checkpoints or live tallies', howToSolve: 'Read the verify report: it names the partition and offset of the first difference.' },
  TALLY_ERR_RECEIPT_PENDING: { status: 404, message: 'No checkpoint covers this record yet', howToSolve: 'Ask again after the Retry-After delay: a checkpoint comes every TALLY_CHECKPOINT_EVERY records of the partition (and when the aggregator stops). An offset that was never written stays pending.' },
  TALLY_ERR_VERIFY_INCOMPLETE: { status: 500, message: 'The log cannot be recounted from its first record', howToSolve: 'Check the topic and partition exist and that no record was deleted (the votes topic needs unlimited retention).' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error with a catalogue code. `detail` says what exactly went wrong this time. */
export class TallyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** Extra fields of the body (e.g. the voteId of TALLY_ERR_VOTE_OUTCOME_UNKNOWN). */
  readonly data: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; retryAfterSeconds?: number; data?: Record<string, string> }) {
    const spec = errorCatalogue[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options?.cause ? { cause: options.cause } : undefined);
    this.name = 'TallyError';
    this.code = code;
    this.status = spec.status;
    this.detail = detail;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.data = options?.data;
  }

  /** The body every HTTP error response carries: code and message, plus the error's data fields. */
  toJSON(): { code: ErrorCode; message: string } & Record<string, string> {
    return { ...this.data, code: this.code, message: this.message };
  }
}

export function isTallyError(error: unknown, code?: ErrorCode): error is TallyError {
  return error instanceof TallyError && (code === undefined || error.code === code);
}
