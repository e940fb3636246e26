// The write path of one vote, after validation: begin → (prepare) → encode → produce → confirm.
//
//   begin (Redis, one script: voter rate limit, Idempotency-Key, one-vote claims pending 60 s)
//        │  ──429 rate · 409 duplicate / in progress / unsettled · stored 202 replayed
//   prepare (route work that must not run for a replay, e.g. open an answer session)
//        │  └─ fails: release the claims (nothing was written)
//   encode (Avro, schema id known) → produce (batched, acks=all)
//        │  ├─ UNAVAILABLE / OVERLOADED (never sent): release the claims → 503, retry freely
//        │  └─ OUTCOME_UNKNOWN (sent, not acknowledged): claims become "unknown" → 503 with the voteId;
//        │     only the same ballot settles them later (vote-claims.ts, README "When Kafka does not answer")
//   ack → the 202 body (built once by the route) → confirm (claims 7 days, body stored for replays)
import { createHash, randomUUID } from 'node:crypto';
import { TallyError, isTallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { partitionKeyFor } from '../partition-key.js';
import type { CatalogSurvey } from './survey-catalog.js';
import type { Claim, VoteClaims } from './vote-claims.js';
import type { VoteEncoder } from './vote-encoder.js';
import type { VoteProducer } from './vote-producer.js';

export interface VoteToCast {
  survey: CatalogSurvey;
  /** Voter pseudonym (HMAC), never the raw identity. */
  voter: string;
  answers: Record<string, string[]>;
  region: string | null;
  /** This request's vote id (a settled earlier vote keeps its own, see Claim.voteId). */
  voteId: string;
  idempotencyKey?: string;
}

export interface CastVote {
  voteId: string;
  partition: number;
  offset: string;
  /** Questions the voter had answered before: the aggregator keeps the first answer. */
  alreadyAnswered: string[];
  /** The exact record value produced (Confluent wire format), e.g. for a receipt of it. */
  value: Buffer;
}

export interface CastSteps {
  /** Runs after the claim, before the record is encoded (skipped for a replay). */
  prepare?: () => Promise<void>;
  /** The 202 body once Kafka acknowledged: serialized once, sent and stored for replays. */
  respond: (cast: CastVote) => unknown;
}

export interface CastAnswer {
  /** JSON body of the 202 */
  body: string;
  replayed: boolean;
}

/** A stable vote id for an idempotent request (same survey, voter and key → same id), else a random one. */
export function voteIdFor(surveyId: string, voter: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  const hex = createHash('sha256').update(`${surveyId}\0${voter}\0${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Confirm retries after the 202 (Redis blip): the pending claim would otherwise expire in 60 s. */
const CONFIRM_RETRY_MS = [200, 1000, 5000];

export class VoteCaster {
  constructor(
    private readonly claims: VoteClaims,
    private readonly encoder: VoteEncoder,
    private readonly producer: VoteProducer,
    private readonly logger: Logger,
  ) {}

  async cast(vote: VoteToCast, steps: CastSteps): Promise<CastAnswer> {
    // Refuse before claiming anything when the record could not be written anyway.
    if (!this.producer.available) throw new TallyError('TALLY_ERR_UNAVAILABLE', 'Kafka is not connected', { retryAfterSeconds: 1 });
    if (!this.encoder.ready) throw new TallyError('TALLY_ERR_UNAVAILABLE', 'the vote schema is not registered yet', { retryAfterSeconds: 1 });
    const { survey } = vote.survey;
    const begun = await this.claims.begin({ surveyId: survey.id, voter: vote.voter, answers: vote.answers, region: vote.region, voteId: vote.voteId, idempotencyKey: vote.idempotencyKey });
    if (begun.kind === 'replay') return { body: begun.body, replayed: true };
    const claim = begun;
    let value: Buffer;
    let produced;
    try {
      await steps.prepare?.();
      value = this.encoder.encode({ voteId: claim.voteId, surveyId: survey.id, voterId: vote.voter, answers: vote.answers, region: vote.region, castAt: Date.now() });
      produced = await this.producer.send(partitionKeyFor(survey.id, vote.voter, survey.shards), value);
    } catch (error) {
      throw await this.failed(claim, vote, error);
    }
    const body = JSON.stringify(steps.respond({ voteId: claim.voteId, partition: produced.partition, offset: produced.offset, alreadyAnswered: claim.alreadyAnswered, value }));
    // Not awaited: the record is in Kafka, so the 202 does not depend on the confirm's reply (a
    // failure is retried in the background either way). The confirm is handed to ioredis at the end
    // of this microtask turn, together with those of the batch's other votes (vote-claims.ts) and
    // before any of their 202s is sent, so a later command of this process (a replay of the same
    // Idempotency-Key, a check of the claim) is run by Redis after it. Waiting for its reply cost
    // every vote one more Redis round trip of latency and one more event-loop wake-up.
    this.confirm(claim, body);
    return { body, replayed: false };
  }

  /** Undoes or keeps the claims depending on whether the record may exist; returns the error to answer. */
  private async failed(claim: Claim, vote: VoteToCast, error: unknown): Promise<unknown> {
    const surveyId = vote.survey.survey.id;
    if (isTallyError(error, 'TALLY_ERR_VOTE_OUTCOME_UNKNOWN')) {
      await this.claims.markUnknown(claim, vote.answers, vote.region).catch((markError: unknown) => {
        // The pending claims then expire in a minute; the aggregator still counts only the first answer.
        this.logger.error({ err: markError, surveyId }, 'could not keep the claims of a vote with an unknown outcome');
      });
      return new TallyError('TALLY_ERR_VOTE_OUTCOME_UNKNOWN', `vote ${claim.voteId}`, { cause: error, retryAfterSeconds: error.retryAfterSeconds ?? 1, data: { voteId: claim.voteId } });
    }
    await this.claims.release(claim).catch((releaseError: unknown) => {
      this.logger.error({ err: releaseError, surveyId }, 'could not release the claims of a failed vote (they expire within a minute)');
    });
    return error;
  }

  /** The record is in Kafka: a Redis failure here must not turn the 202 into an error. */
  private confirm(claim: Claim, body: string): void {
    this.claims.confirm(claim, body).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'could not confirm a vote claim; retrying in the background');
      void (async () => {
        for (const delay of CONFIRM_RETRY_MS) {
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
          try {
            await this.claims.confirm(claim, body);
            return;
          } catch {
            // next attempt
          }
        }
        this.logger.error({ voteId: claim.voteId }, 'vote claim not confirmed: it expires within a minute (the aggregator keeps the first answer)');
      })();
    });
  }
}
