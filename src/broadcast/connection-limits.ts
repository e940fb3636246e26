// Caps on open SSE streams: per process (config.broadcast.maxConnections, sized to the open-file
// limit) and per client IP (config.broadcast.maxPerIp). In a cluster each process counts its own
// streams, so one IP may hold up to maxPerIp streams in every process.
import { TallyError } from '../errors.js';
import type { RefusalReason } from './broadcast-metrics.js';

/** Retry-After for a full process: spread over a few seconds so refused clients do not return together. */
const CAPACITY_RETRY_MIN_S = 2;
const CAPACITY_RETRY_SPREAD_S = 4;
const PER_IP_RETRY_S = 10;

export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerIp: number,
  ) {}

  /** Takes a slot, or returns the refusal (with its metric reason) to send instead. */
  admit(ip: string): { error: TallyError; reason: RefusalReason } | undefined {
    if (this.total >= this.maxConnections) {
      const retryAfterSeconds = CAPACITY_RETRY_MIN_S + Math.floor(Math.random() * CAPACITY_RETRY_SPREAD_S);
      return { reason: 'capacity', error: new TallyError('TALLY_ERR_SSE_CAPACITY', `${this.total} of ${this.maxConnections} streams open`, { retryAfterSeconds }) };
    }
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.maxPerIp) {
      return { reason: 'per_ip', error: new TallyError('TALLY_ERR_SSE_PER_IP', `${fromIp} of ${this.maxPerIp} streams open from ${ip}`, { retryAfterSeconds: PER_IP_RETRY_S }) };
    }
    this.total += 1;
    this.perIp.set(ip, fromIp + 1);
    return undefined;
  }

  release(ip: string): void {
    const fromIp = this.perIp.get(ip);
    if (fromIp === undefined) return;
    this.total -= 1;
    if (fromIp <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, fromIp - 1);
  }

  get open(): number {
    return this.total;
  }
}
