// Writer schemas by id, fetched from the schema registry before a batch is recounted, so the
// per-record decode stays synchronous. An id the registry does not know (404) stays unknown and
// (or cannot be read as a vote) makes its records `invalid`, as the counting rules say; any other
// registry failure stops the run, because guessing would make the recount wrong.
import { VoteCodec, type VoteDecoder } from '../vote-codec.js';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export class WriterSchemas {
  private readonly codec: VoteCodec;
  private readonly unknownIds = new Set<number>();

  constructor(registryUrl: string, topic: string) {
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
      try {
        await this.codec.writerSchema(id);
      } catch (error) {
        // A registry response other than 404 (ResponseError carries a status; a refused
        // connection too) is an outage. No status: the schema exists but cannot be resolved
        // against the vote schema, so its records are unreadable.
        const status = (error as { status?: number }).status;
        if (status !== undefined && status !== 404) throw error;
        this.unknownIds.add(id);
      }
    }
  }
}
