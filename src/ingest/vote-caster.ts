// The write path of one vote, after validation: claim → encode → produce → ack.
//
//   claim one-vote keys (Redis) ──409 duplicate
//        │
//   encode (Avro, schema id known) ──503 registry not reached yet
//        │
//   produce (batched, acks=all) ──503 Kafka unavailable / 503 queue full
//        │        └─ on failure: release the claimed keys (nothing half-written)
//   ack: partition + offset
import { createHash, randomUUID } from 'node:crypto';
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { partitionKeyFor } from '../partition-key.js';
import type { DuplicateGuard } from './duplicate-guard.js';
import type { CatalogSurvey } from './survey-catalog.js';
import type { VoteEncoder } from './vote-encoder.js';
import type { VoteProducer } from './vote-producer.js';

export interface VoteToCast {
  survey: CatalogSurvey;
  /** Voter pseudonym (HMAC), never the raw identity. */
  voter: string;
  answers: Record<string, string[]>;
  region: string | null;
  voteId: string;
}

export interface CastVote {
  voteId: string;
  partition: number;
  offset: string;
  /** Questions the voter had answered before: the aggregator keeps the first answer. */
  alreadyAnswered: string[];
}

/** A stable vote id for an idempotent request (same survey, voter and key → same id), else a random one. */
export function voteIdFor(surveyId: string, voter: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  const hex = createHash('sha256').update(`${surveyId}\0${voter}\0${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export class VoteCaster {
  constructor(
    private readonly guard: DuplicateGuard,
    private readonly encoder: VoteEncoder,
    private readonly producer: VoteProducer,
    private readonly logger: Logger,
  ) {}

  async cast(vote: VoteToCast): Promise<CastVote> {
    // Refuse before claiming anything when the record could not be written anyway.
    if (!this.producer.available) throw new TallyError('TALLY_ERR_UNAVAILABLE', 'Kafka is not connected', { retryAfterSeconds: 1 });
    if (!this.encoder.ready) throw new TallyError('TALLY_ERR_UNAVAILABLE', 'the vote schema is not registered yet', { retryAfterSeconds: 1 });
    const { survey } = vote.survey;
    const claim = await this.guard.claim(survey.id, vote.voter, Object.keys(vote.answers), vote.voteId);
    try {
      const value = this.encoder.encode({
        voteId: vote.voteId,
        surveyId: survey.id,
        voterId: vote.voter,
        answers: vote.answers,
        region: vote.region,
        castAt: Date.now(),
      });
      const produced = await this.producer.send(partitionKeyFor(survey.id, vote.voter, survey.shards), value);
      return { voteId: vote.voteId, partition: produced.partition, offset: produced.offset, alreadyAnswered: claim.alreadyAnswered };
    } catch (error) {
      await this.guard.release(claim, vote.voteId).catch((releaseError: unknown) => {
        this.logger.error({ err: releaseError, surveyId: survey.id }, 'could not release one-vote keys of a failed vote');
      });
      throw error;
    }
  }
}
