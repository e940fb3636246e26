// Resolves writer schema ids for a VoteDecoder inside a worker thread, with plain fetch against the
// Confluent-compatible registry API. Called once per unknown id per batch, never per record.
// An id the registry does not have (404), or a schema that cannot be read as a VoteCast, is
// remembered as unusable: its records are invalid (DLQ), as docs/counting-rules.md says.
import { TallyError } from '../errors.js';
import type { VoteDecoder } from '../vote-codec.js';

export class WriterSchemas {
  private readonly unusable = new Map<number, string>();

  constructor(
    private readonly registryUrl: string,
    private readonly decoder: VoteDecoder,
  ) {}

  /** Why records with this schema id cannot be decoded, or null if the decoder knows the id. */
  problemWith(id: number): string | null {
    if (this.decoder.hasSchema(id)) return null;
    return this.unusable.get(id) ?? `unknown writer schema id ${id}`;
  }

  isResolved(id: number): boolean {
    return this.decoder.hasSchema(id) || this.unusable.has(id);
  }

  /** Fetches every id not yet resolved; throws TALLY_ERR_UNAVAILABLE if the registry does not answer. */
  async resolve(ids: Iterable<number>): Promise<void> {
    for (const id of ids) {
      if (this.isResolved(id)) continue;
      let response: Response;
      try {
        response = await fetch(`${this.registryUrl}/schemas/ids/${id}`, { signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        throw new TallyError('TALLY_ERR_UNAVAILABLE', `schema registry: ${(error as Error).message}`, { cause: error });
      }
      if (response.status === 404) {
        await response.body?.cancel();
        this.unusable.set(id, `unknown writer schema id ${id} (not in the registry)`);
        continue;
      }
      if (!response.ok) throw new TallyError('TALLY_ERR_UNAVAILABLE', `schema registry answered ${response.status} for schema id ${id}`);
      const body = (await response.json()) as { schema?: string; schemaType?: string };
      try {
        if (body.schemaType && body.schemaType !== 'AVRO') throw new Error(`schema type ${body.schemaType}`);
        this.decoder.addWriterSchema(id, String(body.schema));
      } catch (error) {
        this.unusable.set(id, `writer schema id ${id} cannot be read as a VoteCast: ${(error as Error).message}`);
      }
    }
  }
}
