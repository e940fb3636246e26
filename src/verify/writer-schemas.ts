// Writer schemas by id, fetched from the schema registry before a batch is recounted, so the
// per-record decode stays synchronous. A 404 follows the counting rules' grace (docs/counting-rules.md,
// "Unknown writer schema ids"), the same as the aggregator: retried with backoff until the registry
// has answered 404 for TALLY_SCHEMA_NOT_FOUND_GRACE_MS, then the id stays unknown and its records
// are `invalid`; a schema that cannot be read as a vote makes them invalid at once. Any other
// registry failure stops the run, because guessing would make the recount wrong.
import { setTimeout as sleep } from 'node:timers/promises';
import { VoteCodec, type VoteDecoder } from '../vote-codec.js';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
const MAX_BACKOFF_MS = 2000;

export class WriterSchemas {
  private readonly codec: VoteCodec;
  private readonly unknownIds = new Set<number>();

  constructor(
    registryUrl: string,
    topic: string,
    private readonly notFoundGraceMs = 10_000,
  ) {
    this.codec = new VoteCodec(registryUrl, topic);
  }

  get decoder(): VoteDecoder {
    return this.codec.decoder;
  }

  /** Fetches the writer schema of every id in these records not seen before. */
  async prepare(records: Iterable<{ value: Buffer | null }>): Promise<void> {
    for (const { value } of records) {
      if (value === null || value.length < HEADER_BYTES || value[0] !== MAGIC_BYTE) continue;
      const id = value.readUInt32BE(1);
      if (this.codec.decoder.hasSchema(id) || this.unknownIds.has(id)) continue;
      await this.fetch(id);
    }
  }

  private async fetch(id: number): Promise<void> {
    const firstNotFound = Date.now();
    for (let backoff = 100; ; backoff = Math.min(2 * backoff, MAX_BACKOFF_MS)) {
      try {
        await this.codec.writerSchema(id);
        return;
      } catch (error) {
        // A registry response other than 404 (ResponseError carries a status; a refused
        // connection too) is an outage. No status: the schema exists but cannot be resolved
        // against the vote schema, so its records are unreadable.
        const status = (error as { status?: number }).status;
        if (status !== undefined && status !== 404) throw error;
        const waited = Date.now() - firstNotFound;
        if (status === undefined || waited >= this.notFoundGraceMs) {
          this.unknownIds.add(id);
          return;
        }
        await sleep(Math.min(backoff, this.notFoundGraceMs - waited));
      }
    }
  }
}
