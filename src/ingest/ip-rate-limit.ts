// Rate limit per client IP on every ingest route: a token bucket in this process (no Redis round
// trip on the hot path). Each address may spend TALLY_RATE_LIMIT_PER_IP requests per
// TALLY_RATE_LIMIT_WINDOW_MS, refilled continuously, bursts up to the full allowance.
//
// Per process: with TALLY_INGEST_PROCESSES workers the effective limit of one address is up to
// that many times the setting (its connections are spread round-robin over the workers). The
// per-voter limit, which guards the vote path, is exact across processes (vote-claims.ts, Redis).
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { TallyError } from '../errors.js';
import { GenerationalMap } from '../generational-map.js';

/** Addresses tracked at most; beyond it the least recently seen are forgotten (they start again with a full bucket). */
const MAX_ADDRESSES = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class IpRateLimit {
  private readonly buckets = new GenerationalMap<string, Bucket>(MAX_ADDRESSES);
  private readonly perMs: number;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = max / windowMs;
  }

  /** Takes one token for `address`; returns 0 when allowed, else the seconds until one is back. */
  take(address: string): number {
    const now = this.now();
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      bucket = { tokens: this.max, at: now };
      this.buckets.set(address, bucket);
    } else {
      bucket.tokens = Math.min(this.max, bucket.tokens + (now - bucket.at) * this.perMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Takes one token for the request's address; past the limit throws 429 TALLY_ERR_RATE_LIMITED with Retry-After. */
  check(request: FastifyRequest): void {
    const wait = this.take(request.ip);
    if (wait > 0) {
      throw new TallyError('TALLY_ERR_RATE_LIMITED', `more than ${this.max} requests per ${this.windowMs} ms from this address (per ingest process)`, { retryAfterSeconds: wait });
    }
  }

  /** The onRequest hook: `check` as an async hook. */
  hook(): onRequestAsyncHookHandler {
    return async (request: FastifyRequest) => this.check(request);
  }
}
