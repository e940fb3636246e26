// Fast-path one-vote check in Redis: one key per (survey, question, voter), claimed with SET NX in
// a single script call per vote. It only spares Kafka obvious second votes; the aggregator stays the
// authority (Redis may lose keys). A vote is refused (409) when every question it answers is already
// claimed — the same rule that makes a record a `duplicate` in docs/counting-rules.md.
//
// Keys carry the vote id as value, so undoing a failed vote deletes only the keys that vote set.
// The `{survey:voter}` hash tag keeps one vote's keys in one Redis Cluster slot.
import type { Redis } from 'ioredis';
import { TallyError } from '../errors.js';
import { callService } from './service-errors.js';

/** One-vote keys outlive any realistic survey window; after that the aggregator still decides. */
export const ONE_VOTE_KEY_TTL_SECONDS = 7 * 24 * 3600;

/** KEYS = one-vote keys, ARGV[1] = vote id, ARGV[2] = ttl → 1-based indexes of the keys this call set. */
const CLAIM_LUA = `
local claimed = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'EX', ARGV[2]) then claimed[#claimed + 1] = i end
end
return claimed
`;

/** KEYS = one-vote keys, ARGV[1] = vote id → number of keys deleted (only those holding this vote id). */
const RELEASE_LUA = `
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key); released = released + 1 end
end
return released
`;

interface GuardCommands {
  tallyClaimVote(...args: (string | number)[]): Promise<number[]>;
  tallyReleaseVote(...args: (string | number)[]): Promise<number>;
}

export interface Claim {
  readonly keys: string[];
  /** Question ids this voter had already answered (the aggregator will ignore them). */
  readonly alreadyAnswered: string[];
}

export class DuplicateGuard {
  private readonly redis: Redis & GuardCommands;

  constructor(redis: Redis) {
    if (!('tallyClaimVote' in redis)) {
      redis.defineCommand('tallyClaimVote', { lua: CLAIM_LUA });
      redis.defineCommand('tallyReleaseVote', { lua: RELEASE_LUA });
    }
    this.redis = redis as Redis & GuardCommands;
  }

  static key(surveyId: string, voter: string, questionId: string): string {
    return `tally:voted:{${surveyId}:${voter}}:${questionId}`;
  }

  /** Claims the questions of a vote; throws TALLY_ERR_DUPLICATE_VOTE if all were answered already. */
  async claim(surveyId: string, voter: string, questionIds: string[], voteId: string): Promise<Claim> {
    const keys = questionIds.map((q) => DuplicateGuard.key(surveyId, voter, q));
    const claimed = await callService('redis', () => this.redis.tallyClaimVote(keys.length, ...keys, voteId, ONE_VOTE_KEY_TTL_SECONDS));
    if (claimed.length === 0) {
      throw new TallyError('TALLY_ERR_DUPLICATE_VOTE', questionIds.length === 1 ? `question ${questionIds[0]}` : `questions ${questionIds.join(', ')}`);
    }
    const set = new Set(claimed);
    return { keys: claimed.map((i) => keys[i - 1]!), alreadyAnswered: questionIds.filter((_, i) => !set.has(i + 1)) };
  }

  /** Undoes a claim whose vote did not reach Kafka. */
  async release(claim: Claim, voteId: string): Promise<void> {
    await callService('redis', () => this.redis.tallyReleaseVote(claim.keys.length, ...claim.keys, voteId));
  }
}
