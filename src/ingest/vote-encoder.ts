// The vote schema's registration, kept off the request path: start() registers
// schemas/vote-cast.avsc in the background (retrying while the registry is down) and encode() is
// synchronous. Until the schema id is known, votes get 503 with Retry-After.
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { VoteCast, VoteCodec } from '../vote-codec.js';

const RETRY_MS = { first: 250, max: 5000 };
const PROBE_TIMEOUT_MS = 1000;

export class VoteEncoder {
  private registered = false;
  private closed = false;
  private registering: Promise<void> | null = null;

  constructor(
    readonly codec: VoteCodec,
    private readonly registryUrl: string,
    private readonly logger: Logger,
  ) {}

  get ready(): boolean {
    return this.registered;
  }

  /** Registers in the background; resolves once registered (callers may ignore it). */
  start(): Promise<void> {
    this.registering ??= this.registerLoop();
    return this.registering;
  }

  /** Serializes once into the Confluent wire format. */
  encode(vote: VoteCast): Buffer {
    if (!this.registered) throw new TallyError('TALLY_ERR_UNAVAILABLE', 'the vote schema is not registered yet (schema registry unreachable)', { retryAfterSeconds: 1 });
    return this.codec.encode(vote);
  }

  /** Readiness: the schema is registered and the registry answers. */
  async check(): Promise<boolean> {
    if (!this.registered) return false;
    const response = await fetch(`${this.registryUrl}/subjects`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return response.ok;
  }

  close(): void {
    this.closed = true;
  }

  private async registerLoop(): Promise<void> {
    let backoff = RETRY_MS.first;
    while (!this.closed) {
      try {
        const id = await this.codec.register();
        this.registered = true;
        this.logger.info({ subject: this.codec.subject, schemaId: id }, 'vote schema registered');
        return;
      } catch (error) {
        this.logger.warn({ err: error, retryInMs: backoff }, 'schema registry unavailable; retrying');
        await new Promise<void>((resolve) => setTimeout(resolve, backoff).unref());
        backoff = Math.min(backoff * 2, RETRY_MS.max);
      }
    }
  }
}
