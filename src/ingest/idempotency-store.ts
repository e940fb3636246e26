// Idempotency-Key handling: the first request with a key runs; its successful answer is stored in
// Redis for 24 h and replayed to every retry (so a retry yields no second record in Kafka). A retry
// that arrives while the first is still running gets 409 TALLY_ERR_REQUEST_IN_PROGRESS with
// Retry-After. Failures are not stored: the key is released so the client can retry for real.
// Keys are scoped by survey and voter, so one voter cannot read another's answers.
import type { Redis } from 'ioredis';
import { TallyError } from '../errors.js';
import { callService } from './service-errors.js';

export const IDEMPOTENT_RESULT_TTL_SECONDS = 24 * 3600;
/** Short, so a crash mid-request does not block the key for a day. */
const PENDING_TTL_SECONDS = 30;
const PENDING = 'pending';

/** KEYS[1] = key, ARGV[1] = pending marker, ARGV[2] = pending ttl → stored value, or false after marking it pending. */
const BEGIN_LUA = `
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`;

const ABANDON_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface IdempotencyCommands {
  tallyIdempotencyBegin(key: string, pending: string, ttl: number): Promise<string | null>;
  tallyIdempotencyAbandon(key: string, pending: string): Promise<number>;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export class IdempotencyStore {
  private readonly redis: Redis & IdempotencyCommands;

  constructor(redis: Redis) {
    if (!('tallyIdempotencyBegin' in redis)) {
      redis.defineCommand('tallyIdempotencyBegin', { numberOfKeys: 1, lua: BEGIN_LUA });
      redis.defineCommand('tallyIdempotencyAbandon', { numberOfKeys: 1, lua: ABANDON_LUA });
    }
    this.redis = redis as Redis & IdempotencyCommands;
  }

  static key(surveyId: string, voter: string, idempotencyKey: string): string {
    return `tally:idem:{${surveyId}:${voter}}:${idempotencyKey}`;
  }

  /**
   * Runs `work` once per key: returns its response, or the stored response of an earlier run
   * (`replayed: true`).
   */
  async run(key: string, work: () => Promise<StoredResponse>): Promise<StoredResponse & { replayed: boolean }> {
    const stored = await callService('redis', () => this.redis.tallyIdempotencyBegin(key, PENDING, PENDING_TTL_SECONDS));
    if (stored === PENDING) throw new TallyError('TALLY_ERR_REQUEST_IN_PROGRESS', undefined, { retryAfterSeconds: 1 });
    if (stored !== null) return { ...(JSON.parse(stored) as StoredResponse), replayed: true };
    let response: StoredResponse;
    try {
      response = await work();
    } catch (error) {
      await this.redis.tallyIdempotencyAbandon(key, PENDING).catch(() => undefined);
      throw error;
    }
    // The record is in Kafka already: failing to store the answer must not turn it into an error.
    await this.redis.set(key, JSON.stringify(response), 'EX', IDEMPOTENT_RESULT_TTL_SECONDS).catch(() => undefined);
    return { ...response, replayed: false };
  }
}
