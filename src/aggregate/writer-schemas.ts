// Resolves writer schema ids for a VoteDecoder inside a worker thread, with plain fetch against the
// Confluent-compatible registry API. Called once per unknown id per batch, never per record.
//
// A 404 is not final at once (docs/counting-rules.md, "Unknown writer schema ids"): a registry that
// restarts or fails over may answer 404 for an id it has, and one 404 would send valid votes to the
// DLQ for good while another owner counts them. The id is retried with backoff (in place, then by
// failing the batch: the partition retries it after a second) until the registry has answered 404
// for TALLY_SCHEMA_NOT_FOUND_GRACE_MS since the first 404; only then is it unusable and its records
// invalid. A schema that cannot be read as a VoteCast is unusable at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../errors.js';
import type { VoteDecoder } from '../vote-codec.js';

/** A 404 this long after the previous one for the same id starts a new window (the id stopped coming). */
const NOT_FOUND_FORGET_MS = 5 * 60_000;
/** In-place retries of a 404 before the batch fails (the partition retries it a second later). */
const NOT_FOUND_BACKOFF_MS = [100, 200, 400, 800];

export class WriterSchemas {
  private readonly unusable = new Map<number, string>();
  /** id → [first, last] time the registry answered 404 for it (ms), while in the grace window. */
  private readonly notFound = new Map<number, [number, number]>();

  constructor(
    private readonly registryUrl: string,
    private readonly decoder: VoteDecoder,
    private readonly notFoundGraceMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Why records with this schema id cannot be decoded, or null if the decoder knows the id. */
  problemWith(id: number): string | null {
    if (this.decoder.hasSchema(id)) return null;
    return this.unusable.get(id) ?? `unknown writer schema id ${id}`;
  }

  isResolved(id: number): boolean {
    return this.decoder.hasSchema(id) || this.unusable.has(id);
  }

  /**
   * Fetches every id not yet resolved. Throws TALLY_ERR_UNAVAILABLE if the registry does not
   * answer, or answers 404 for an id still inside its grace window (the batch is retried).
   */
  async resolve(ids: Iterable<number>): Promise<void> {
    for (const id of ids) {
      for (let attempt = 0; !this.isResolved(id); attempt++) {
        if (await this.fetchSchema(id)) break;
        const since = this.notFoundFor(id);
        if (since >= this.notFoundGraceMs) {
          this.unusable.set(id, `unknown writer schema id ${id} (not in the registry for ${since} ms)`);
          this.notFound.delete(id);
          break;
        }
        const backoff = NOT_FOUND_BACKOFF_MS[attempt];
        if (backoff === undefined) {
          throw new TallyError('TALLY_ERR_UNAVAILABLE', `schema registry answered 404 for schema id ${id} for ${since} ms; retrying until ${this.notFoundGraceMs} ms (TALLY_SCHEMA_NOT_FOUND_GRACE_MS) before its records are invalid`);
        }
        await sleep(Math.min(backoff, this.notFoundGraceMs - since));
      }
    }
  }

  /** Records a 404 now; how long the registry has been answering 404 for `id` (ms). */
  private notFoundFor(id: number): number {
    const now = this.now();
    const seen = this.notFound.get(id);
    // A 404 long after the last one (the id stopped coming, e.g. the partition moved) starts over.
    if (seen === undefined || now - seen[1] > NOT_FOUND_FORGET_MS) {
      this.notFound.set(id, [now, now]);
      return 0;
    }
    seen[1] = now;
    return now - seen[0];
  }

  /** True when the id is resolved (known, or unusable for good); false on a 404. */
  private async fetchSchema(id: number): Promise<boolean> {
    let response: Response;
    try {
      response = await fetch(`${this.registryUrl}/schemas/ids/${id}`, { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new TallyError('TALLY_ERR_UNAVAILABLE', `schema registry: ${(error as Error).message}`, { cause: error });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return false;
    }
    if (!response.ok) throw new TallyError('TALLY_ERR_UNAVAILABLE', `schema registry answered ${response.status} for schema id ${id}`);
    const body = (await response.json()) as { schema?: string; schemaType?: string };
    this.notFound.delete(id);
    try {
      if (body.schemaType && body.schemaType !== 'AVRO') throw new Error(`schema type ${body.schemaType}`);
      this.decoder.addWriterSchema(id, String(body.schema));
    } catch (error) {
      this.unusable.set(id, `writer schema id ${id} cannot be read as a VoteCast: ${(error as Error).message}`);
    }
    return true;
  }
}
