// Caps on open SSE streams: per process (config.broadcast.maxConnections, sized to the open-file
// limit) and per client IP (config.broadcast.maxPerIp). In a cluster each process counts its own
// streams, so one IP may hold up to maxPerIp streams in every process.
//
// In a cluster a process about to be full stops accepting (src/role-cluster.ts, clusterAcceptGate)
// while a sibling accepts, and accepts again once resumeMargin streams closed: the kernel then hands
// new connections to processes with room, and only a cluster whose every process is full answers 503.
// It asks to stop pauseHeadroom streams before the cap, not at it: asking is a round trip to the
// primary, and during a burst of connects the connections a process already accepted meanwhile
// would otherwise find it full (7 of 32,000 clients got 503 that way in a bench run).
import { TallyError } from '../errors.js';
import type { AcceptGate } from '../role-cluster.js';
import type { RefusalReason } from './broadcast-metrics.js';

/** Retry-After for a full process: spread over a few seconds so refused clients do not return together. */
const CAPACITY_RETRY_MIN_S = 2;
const CAPACITY_RETRY_SPREAD_S = 4;
const PER_IP_RETRY_S = 10;
/** A process asks to stop accepting at max − this: room for what it accepts while the primary answers. */
const pauseHeadroom = (max: number): number => Math.min(128, Math.floor(max / 100));
/** A paused process accepts again below max − this (a band below the pause point, so churn does not flap). */
const resumeMargin = (max: number): number => Math.max(1, Math.min(256, Math.floor(max / 50))) + pauseHeadroom(max);

export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  private gate: AcceptGate | undefined;

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerIp: number,
  ) {}

  /** In a cluster worker: stop accepting when full, accept again when there is room. */
  attachGate(gate: AcceptGate): void {
    this.gate = gate;
  }

  /** Whether this process accepts new connections (false while paused because full). */
  get accepting(): boolean {
    return this.gate?.accepting ?? true;
  }

  /**
   * After a successful admit(): if that made the process (nearly) full, resolves once it stopped
   * accepting (or learned that it is the last one accepting), so the next connection already goes
   * elsewhere.
   */
  settled(): Promise<void> | undefined {
    return this.total >= this.maxConnections - pauseHeadroom(this.maxConnections) ? this.gate?.full() : undefined;
  }

  /** Takes a slot, or returns the refusal (with its metric reason) to send instead. */
  admit(ip: string): { error: TallyError; reason: RefusalReason } | undefined {
    if (this.total >= this.maxConnections) {
      void this.gate?.full(); // a sibling may have room by now
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
    if (this.gate !== undefined && this.total <= this.maxConnections - resumeMargin(this.maxConnections)) this.gate.room();
  }

  get open(): number {
    return this.total;
  }
}
