// Everything Redis knows about a vote, reached in ONE round trip before the vote is produced
// (BEGIN: per-voter rate limit + Idempotency-Key + one-vote claims; the BEGINs of the votes that
// arrive together are one command) and one after Kafka answered (CONFIRM, RELEASE or UNKNOWN; the
// confirms of one producer batch are one command, the others of one batch resolve in the same tick,
// so ioredis auto-pipelining sends them as one write).
//
// Redis layout (hash tag = the voter pseudonym, so one vote's keys share a Redis Cluster slot):
//
//   tally:rl:{voter}                         per-voter request counter, fixed window (PX; prefix configurable)
//   tally:idem:{voter}:survey:key            Idempotency-Key: "p<nonce>" while running, then the 202 body (24 h)
//   tally:voted:{voter}:survey:question      one-vote claim:
//        "p<voteId>"            pending: claimed, record not acknowledged yet — short TTL (60 s), so a crash
//                               between claim and produce frees the question within a minute
//        "c<voteId>"            confirmed: Kafka acknowledged the record — 7 days
//        "u<voteId>|<ballot>"   unknown: the send failed after the record may have been written — 7 days;
//                               only the same ballot (region|options of that question) may settle it
//
// The claim rule matches docs/counting-rules.md: a vote is refused (409) when every question it
// answers is already answered; one that repeats some is accepted and lists them in alreadyAnswered
// (the aggregator keeps the first answers). Redis is a fast path: the aggregator stays the authority.
//
// Lost replies: ioredis re-sends a command whose reply was lost on a broken connection. A claim key
// that already holds this vote id, and an idempotency marker that holds this request's nonce, count
// as this vote's own, so the re-sent BEGIN goes ahead instead of answering 409.
import type { Redis } from 'ioredis';
import { TallyError } from '../errors.js';
import { callService } from './service-errors.js';

/** One-vote keys outlive any realistic survey window; after that the aggregator still decides. */
export const ONE_VOTE_KEY_TTL_SECONDS = 7 * 24 * 3600;
/** A claim not yet acknowledged by Kafka: expires within a minute if its request dies. */
export const PENDING_TTL_SECONDS = 60;
export const IDEMPOTENT_RESULT_TTL_SECONDS = 24 * 3600;
/** What Retry-After says to a request that meets another one still producing. */
const IN_PROGRESS_RETRY_SECONDS = 1;

// BEGIN, for every vote that reached it in one turn of the event loop (or while the previous BEGIN
// was in flight): one command instead of one per vote (beginBatch below says why). Per vote,
// KEYS: the rate counter, the idempotency key when it has one, then its claim keys. ARGV: 1 pending
// ttl (s), 2 rate max, 3 rate window (ms), then per vote: vote id, request nonce, has idem ('1'/'0'),
// number of claim keys, number of ballots (0, or one per claim key: only on the second try, after a
// {5} answer), the ballots. The answer is one reply per vote, in order.
// Per claim key: absent → claim it pending · pending with this vote id → ours (a re-sent BEGIN) ·
// pending with another → that vote is still producing · confirmed → answered already · unknown →
// the same ballot settles it (the record carries that earlier vote id), another ballot is refused.
// Replies: {0, pttl} rate limited · {1, body} idempotent replay · {2} same key in progress ·
// {3} another vote pending · {4, voteId} unsettled (unknown, other ballot) · {5} ballots needed ·
// {6} every question answered · {7, voteId, i…} claimed (as voteId; i = already answered keys, 1-based)
// Spanning voters, the call needs one Redis node (as CONFIRM; on a Redis Cluster it would be split per slot).
const BEGIN_LUA = `
local function begin(rateKey, idemKey, first, n, voteId, nonce, ballots)
  local count = redis.call('INCR', rateKey)
  if count == 1 then redis.call('PEXPIRE', rateKey, ARGV[3]) end
  if count > tonumber(ARGV[2]) then return {0, redis.call('PTTL', rateKey)} end
  if idemKey then
    local stored = redis.call('GET', idemKey)
    if stored then
      if string.sub(stored, 1, 1) ~= 'p' then return {1, stored} end
      if string.sub(stored, 2) ~= nonce then return {2} end
    end
  end
  local values = {}
  local adopt = false
  for i = 1, n do
    local v = redis.call('GET', KEYS[first + i - 1])
    values[i] = v
    if v and string.sub(v, 1, 1) == 'u' then
      if ballots == 0 then return {5} end
      local owner = string.sub(v, 2, 37)
      if string.sub(v, 39) ~= ARGV[ballots + i] or (adopt and adopt ~= owner) then return {4, owner} end
      adopt = owner
    end
  end
  if adopt then voteId = adopt end
  local answered = {}
  local fresh = {}
  for i = 1, n do
    local v = values[i]
    if not v then
      fresh[#fresh + 1] = first + i - 1
    else
      local kind = string.sub(v, 1, 1)
      if kind == 'c' then
        answered[#answered + 1] = i
      elseif kind == 'p' and string.sub(v, 2) ~= voteId then
        return {3}
      end
    end
  end
  if #answered == n then return {6} end
  for _, k in ipairs(fresh) do redis.call('SET', KEYS[k], 'p' .. voteId, 'EX', ARGV[1]) end
  if idemKey then redis.call('SET', idemKey, 'p' .. nonce, 'EX', ARGV[1]) end
  local result = {7, voteId}
  for _, i in ipairs(answered) do result[#result + 1] = i end
  return result
end
local replies = {}
local k = 1
local a = 4
while a <= #ARGV do
  local hasIdem = ARGV[a + 2] == '1'
  local n = tonumber(ARGV[a + 3])
  local nb = tonumber(ARGV[a + 4])
  local idemKey = false
  local first = k + 1
  if hasIdem then
    idemKey = KEYS[k + 1]
    first = k + 2
  end
  local ballots = 0
  if nb > 0 then ballots = a + 4 end
  replies[#replies + 1] = begin(KEYS[k], idemKey, first, n, ARGV[a], ARGV[a + 1], ballots)
  k = first + n
  a = a + 5 + nb
end
return replies
`;

// CONFIRM (Kafka acknowledged), for every vote confirmed in one turn of the event loop (the votes of
// one producer batch are acknowledged together): one command instead of one per vote. KEYS: per vote
// its claim keys, then its idempotency key if it has one. ARGV: 1 claim ttl, 2 idem ttl, then per
// vote 4 values: vote id, number of claim keys, has idem ('1'/'0'), answer body ('' without idem).
// A key that expired meanwhile is claimed again; one another vote took meanwhile is left to it (the
// aggregator keeps the first). Spanning voters, the call needs one Redis node (what ingest uses); on
// a Redis Cluster it would have to be split per slot.
const CONFIRM_LUA = `
local k = 1
local a = 3
while a <= #ARGV do
  local voteId = ARGV[a]
  local last = k + tonumber(ARGV[a + 1]) - 1
  for i = k, last do
    local v = redis.call('GET', KEYS[i])
    if (not v) or string.sub(v, 2, 37) == voteId then redis.call('SET', KEYS[i], 'c' .. voteId, 'EX', ARGV[1]) end
  end
  k = last + 1
  if ARGV[a + 2] == '1' then
    redis.call('SET', KEYS[k], ARGV[a + 3], 'EX', ARGV[2])
    k = k + 1
  end
  a = a + 4
end
return 1
`;

// RELEASE (the record was certainly not written). KEYS = the vote's claim keys, then the idempotency
// key when ARGV[3] = '1'; ARGV: 1 vote id, 2 nonce,
// 3 has idem. Deletes only what this request set: pending claims of this vote id, its idem marker.
const RELEASE_LUA = `
local last = #KEYS
if ARGV[3] == '1' then
  last = last - 1
  if redis.call('GET', KEYS[#KEYS]) == 'p' .. ARGV[2] then redis.call('DEL', KEYS[#KEYS]) end
end
for i = 1, last do
  if redis.call('GET', KEYS[i]) == 'p' .. ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
`;

// UNKNOWN (the send failed after the record may have been written). KEYS as for RELEASE; ARGV:
// 1 vote id, 2 claim ttl, 3 nonce, 4 has idem, 5.. ballot per claim key. Pending claims of this vote
// become unknown for the claim ttl; the idem marker is dropped so a re-sent request can settle the vote.
const UNKNOWN_LUA = `
local last = #KEYS
if ARGV[4] == '1' then
  last = last - 1
  if redis.call('GET', KEYS[#KEYS]) == 'p' .. ARGV[3] then redis.call('DEL', KEYS[#KEYS]) end
end
for i = 1, last do
  if redis.call('GET', KEYS[i]) == 'p' .. ARGV[1] then redis.call('SET', KEYS[i], 'u' .. ARGV[1] .. '|' .. ARGV[4 + i], 'EX', ARGV[2]) end
end
return 1
`;

// RATE (routes that claim nothing): KEYS[1] = rate counter; ARGV: 1 max, 2 window (ms) → pttl when limited, else 0.
const RATE_LUA = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
return 0
`;

type Args = (string | number)[];
interface ClaimCommands {
  tallyVoteBegin(...args: Args): Promise<unknown[]>;
  tallyVoteConfirm(...args: Args): Promise<number>;
  tallyVoteRelease(...args: Args): Promise<number>;
  tallyVoteUnknown(...args: Args): Promise<number>;
  tallyVoterRate(...args: Args): Promise<number>;
}

export interface VoteToClaim {
  surveyId: string;
  voter: string;
  /** question id → option ids, as validated */
  answers: Record<string, string[]>;
  region: string | null;
  voteId: string;
  /** the client's Idempotency-Key header, if any */
  idempotencyKey?: string;
}

/** The outcome of BEGIN when the vote goes ahead. */
export interface Claim {
  readonly kind: 'claimed';
  /** The vote id the record must carry: this request's, or the earlier vote's it settles. */
  readonly voteId: string;
  /** Question ids this voter had already answered (the aggregator will ignore them). */
  readonly alreadyAnswered: string[];
  /** Claim keys this vote holds (every answered question except alreadyAnswered). */
  readonly keys: string[];
  readonly questions: string[];
  readonly idempotencyKey: string | null;
  readonly nonce: string;
}

export interface Replay {
  readonly kind: 'replay';
  /** The stored 202 body, as sent the first time. */
  readonly body: string;
}

export interface VoterLimit {
  max: number;
  windowMs: number;
  /** Key prefix of the per-voter counters (tests use their own): `<prefix>{voter}`. */
  keyPrefix: string;
}

let nonces = 0;
/** Unique per request within this process, and across processes by the pid. */
function nextNonce(): string {
  nonces = (nonces + 1) % Number.MAX_SAFE_INTEGER;
  return `${process.pid}.${nonces}`;
}

/** The ballot of one question, as an unknown claim keeps it: region and the sorted option ids. */
export function ballotOf(options: string[], region: string | null): string {
  return `${region ?? ''}|${[...options].sort().join(',')}`;
}

interface QueuedBegin {
  /** this vote's KEYS and ARGV of BEGIN_LUA */
  keys: string[];
  args: Args;
  resolve: (reply: (number | string)[]) => void;
  reject: (error: unknown) => void;
}

/** Most votes per BEGIN command (the script runs them one after the other inside Redis). */
const MAX_BEGIN_BATCH = 500;

interface QueuedConfirm {
  claim: Claim;
  body: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class VoteClaims {
  private readonly redis: Redis & ClaimCommands;
  /** BEGINs waiting for the next batch (flushBegins). */
  private begins: QueuedBegin[] = [];
  private beginInFlight = false;
  /** Confirms of this microtask turn, sent as one command (flushConfirms). */
  private confirms: QueuedConfirm[] = [];

  constructor(
    redis: Redis,
    private readonly limit: VoterLimit,
  ) {
    if (!('tallyVoteBegin' in redis)) {
      redis.defineCommand('tallyVoteBegin', { lua: BEGIN_LUA });
      redis.defineCommand('tallyVoteConfirm', { lua: CONFIRM_LUA });
      redis.defineCommand('tallyVoteRelease', { lua: RELEASE_LUA });
      redis.defineCommand('tallyVoteUnknown', { lua: UNKNOWN_LUA });
      redis.defineCommand('tallyVoterRate', { numberOfKeys: 1, lua: RATE_LUA });
    }
    // BEGIN and CONFIRM batch themselves and are written at once: through ioredis auto-pipelining
    // each would wait one more setImmediate and for the auto-pipeline in flight, and a CONFIRM
    // queued there could reach Redis after a later BEGIN written directly. (A new array: ioredis's
    // default one may be shared by every client.)
    const ignored = redis.options.autoPipeliningIgnoredCommands ?? [];
    if (!ignored.includes('tallyVoteBegin')) redis.options.autoPipeliningIgnoredCommands = [...ignored, 'tallyVoteBegin', 'tallyVoteConfirm'];
    this.redis = redis as Redis & ClaimCommands;
  }

  static claimKey(surveyId: string, voter: string, questionId: string): string {
    return `tally:voted:{${voter}}:${surveyId}:${questionId}`;
  }

  static idempotencyKey(surveyId: string, voter: string, key: string): string {
    return `tally:idem:{${voter}}:${surveyId}:${key}`;
  }

  private rateKey(voter: string): string {
    return `${this.limit.keyPrefix}{${voter}}`;
  }

  /**
   * One round trip: the voter's rate limit, the Idempotency-Key, and the claims. Returns the claim
   * (go ahead and produce) or a replay; throws the refusal (429, 409, 503 when Redis is down).
   */
  async begin(vote: VoteToClaim): Promise<Claim | Replay> {
    const questions = Object.keys(vote.answers);
    const keys = new Array<string>(questions.length);
    const prefix = `tally:voted:{${vote.voter}}:${vote.surveyId}:`;
    for (let i = 0; i < questions.length; i++) keys[i] = prefix + questions[i];
    const idempotencyKey = vote.idempotencyKey === undefined ? null : VoteClaims.idempotencyKey(vote.surveyId, vote.voter, vote.idempotencyKey);
    const nonce = nextNonce();
    const voteKeys = idempotencyKey === null ? [this.rateKey(vote.voter), ...keys] : [this.rateKey(vote.voter), idempotencyKey, ...keys];
    const voteArgs: Args = [vote.voteId, nonce, idempotencyKey === null ? '0' : '1', keys.length, 0];
    let answer = await callService('redis', () => this.queueBegin(voteKeys, voteArgs));
    if (answer[0] === 5) {
      // An earlier vote's outcome is unknown on one of these questions: only the same ballot may settle it.
      voteArgs[4] = questions.length;
      for (const q of questions) voteArgs.push(ballotOf(vote.answers[q]!, vote.region));
      answer = await callService('redis', () => this.queueBegin(voteKeys, voteArgs));
    }
    switch (answer[0]) {
      case 0:
        throw new TallyError('TALLY_ERR_RATE_LIMITED', `more than ${this.limit.max} requests per ${this.limit.windowMs} ms for this voter`, {
          retryAfterSeconds: Math.max(1, Math.ceil(Number(answer[1]) / 1000)),
        });
      case 1:
        return { kind: 'replay', body: String(answer[1]) };
      case 2:
        throw new TallyError('TALLY_ERR_REQUEST_IN_PROGRESS', undefined, { retryAfterSeconds: IN_PROGRESS_RETRY_SECONDS });
      case 3:
        throw new TallyError('TALLY_ERR_VOTE_IN_PROGRESS', undefined, { retryAfterSeconds: IN_PROGRESS_RETRY_SECONDS });
      case 4:
        throw new TallyError('TALLY_ERR_VOTE_UNSETTLED', `vote ${answer[1]}`, { data: { voteId: String(answer[1]) } });
      case 6:
        throw new TallyError('TALLY_ERR_DUPLICATE_VOTE', questions.length === 1 ? `question ${questions[0]}` : `questions ${questions.join(', ')}`);
      case 7: {
        if (answer.length === 2) return { kind: 'claimed', voteId: String(answer[1]), alreadyAnswered: [], keys, questions, idempotencyKey, nonce };
        const alreadyAnswered: string[] = [];
        const held: string[] = [];
        const heldQuestions: string[] = [];
        let next = 2;
        for (let i = 0; i < questions.length; i++) {
          if (answer[next] === i + 1) {
            alreadyAnswered.push(questions[i]!);
            next += 1;
          } else {
            held.push(keys[i]!);
            heldQuestions.push(questions[i]!);
          }
        }
        return { kind: 'claimed', voteId: String(answer[1]), alreadyAnswered, keys: held, questions: heldQuestions, idempotencyKey, nonce };
      }
      default:
        throw new TallyError('TALLY_ERR_INTERNAL', `unexpected claim answer ${JSON.stringify(answer)}`);
    }
  }

  /** Queues one vote's BEGIN for the next batch (flushBegins); resolves with its reply. */
  private queueBegin(keys: string[], args: Args): Promise<(number | string)[]> {
    return new Promise((resolve, reject) => {
      if (this.begins.push({ keys, args, resolve, reject }) === 1 && !this.beginInFlight) setImmediate(this.flushBegins);
    });
  }

  /**
   * Sends the queued BEGINs as one command. Votes of different connections arrive in separate I/O
   * callbacks of one event-loop turn; setImmediate runs after all of them, and while a BEGIN is in
   * flight the next votes wait for its reply and go out together, so a batch grows with load
   * instead of each vote costing a Redis command, a socket write and a reply of its own (7 % of a
   * worker's time was ioredis writing one small pipeline per vote: README "Where a vote's CPU goes").
   */
  private readonly flushBegins = (): void => {
    if (this.beginInFlight || this.begins.length === 0) return;
    const batch = this.begins.length <= MAX_BEGIN_BATCH ? this.begins : this.begins.slice(0, MAX_BEGIN_BATCH);
    this.begins = batch === this.begins ? [] : this.begins.slice(MAX_BEGIN_BATCH);
    const keys: string[] = [];
    const argv: Args = [PENDING_TTL_SECONDS, this.limit.max, this.limit.windowMs];
    for (const queued of batch) {
      for (const key of queued.keys) keys.push(key);
      for (const arg of queued.args) argv.push(arg);
    }
    this.beginInFlight = true;
    this.redis.tallyVoteBegin(keys.length, ...keys, ...argv).then(
      (replies) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(replies[i] as (number | string)[]);
        this.beginSettled();
      },
      (error: unknown) => {
        for (const queued of batch) queued.reject(error);
        this.beginSettled();
      },
    );
  };

  private beginSettled(): void {
    this.beginInFlight = false;
    this.flushBegins();
  }

  /**
   * Kafka acknowledged the record: the claims get their long TTL, the answer is stored for replays.
   * The command is issued at the end of this microtask turn together with the confirms of the other
   * votes acknowledged in it (one Redis command per producer batch, not per vote), before any of
   * their answers can be written; the promise settles with that command.
   */
  confirm(claim: Claim, body: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.confirms.push({ claim, body, resolve, reject }) === 1) queueMicrotask(this.flushConfirms);
    });
  }

  private readonly flushConfirms = (): void => {
    const batch = this.confirms;
    this.confirms = [];
    const keys: string[] = [];
    const argv: (string | number)[] = [ONE_VOTE_KEY_TTL_SECONDS, IDEMPOTENT_RESULT_TTL_SECONDS];
    for (const { claim, body } of batch) {
      for (const key of claim.keys) keys.push(key);
      const hasIdem = claim.idempotencyKey !== null;
      if (hasIdem) keys.push(claim.idempotencyKey!);
      argv.push(claim.voteId, claim.keys.length, hasIdem ? '1' : '0', hasIdem ? body : ''); // the body is stored only for replays
    }
    this.redis.tallyVoteConfirm(keys.length, ...keys, ...argv).then(
      () => {
        for (const confirm of batch) confirm.resolve();
      },
      (error: unknown) => {
        for (const confirm of batch) confirm.reject(error);
      },
    );
  };

  /** The record was certainly not written: undo this request's claims and idempotency marker. */
  async release(claim: Claim): Promise<void> {
    const hasIdem = claim.idempotencyKey !== null;
    await callService('redis', () =>
      this.redis.tallyVoteRelease(claim.keys.length + (hasIdem ? 1 : 0), ...claim.keys, ...(hasIdem ? [claim.idempotencyKey!] : []), claim.voteId, claim.nonce, hasIdem ? '1' : '0'),
    );
  }

  /** The record may have been written: keep the claims as unknown (only this ballot may settle them). */
  async markUnknown(claim: Claim, answers: Record<string, string[]>, region: string | null): Promise<void> {
    const hasIdem = claim.idempotencyKey !== null;
    const ballots = claim.questions.map((q) => ballotOf(answers[q]!, region));
    await callService('redis', () =>
      this.redis.tallyVoteUnknown(
        claim.keys.length + (hasIdem ? 1 : 0),
        ...claim.keys,
        ...(hasIdem ? [claim.idempotencyKey!] : []),
        claim.voteId,
        ONE_VOTE_KEY_TTL_SECONDS,
        claim.nonce,
        hasIdem ? '1' : '0',
        ...ballots,
      ),
    );
  }

  /** The per-voter rate limit alone, for voter routes that claim nothing (finish a session). Fails open without Redis. */
  async limitVoter(voter: string): Promise<void> {
    let pttl: number;
    try {
      pttl = await this.redis.tallyVoterRate(this.rateKey(voter), this.limit.max, this.limit.windowMs);
    } catch {
      return;
    }
    if (pttl > 0) {
      throw new TallyError('TALLY_ERR_RATE_LIMITED', `more than ${this.limit.max} requests per ${this.limit.windowMs} ms for this voter`, { retryAfterSeconds: Math.max(1, Math.ceil(pttl / 1000)) });
    }
  }
}
