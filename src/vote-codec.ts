// The vote event on the wire: Avro in the Confluent wire format
// (magic byte 0, 4-byte big-endian schema id, Avro payload), schema in schemas/vote-cast.avsc.
//
// Two halves:
// - VoteDecoder: pure and synchronous, given writer schemas by id; safe in worker threads and
//   cheap per record (one resolver per writer schema, built once).
// - VoteCodec: talks to the schema registry (@kafkajs/confluent-schema-registry) to register the
//   current schema and look up writer schemas by id, and encodes with the registered id.
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import confluent from '@kafkajs/confluent-schema-registry';
import { TallyError } from './errors.js';

const { SchemaRegistry, SchemaType } = confluent;

export interface VoteCast {
  voteId: string;
  surveyId: string;
  /** HMAC of the voter identity; never the raw identity. */
  voterId: string;
  /** question id → chosen option ids */
  answers: Record<string, string[]>;
  region: string | null;
  /** epoch milliseconds */
  castAt: number;
}

export const VOTE_SCHEMA_PATH = new URL('../../schemas/vote-cast.avsc', import.meta.url);
export const voteSchemaJson: string = readFileSync(VOTE_SCHEMA_PATH, 'utf8');

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export function schemaIdOf(record: Buffer): number {
  if (record.length < HEADER_BYTES || record[0] !== MAGIC_BYTE) {
    throw new TallyError('TALLY_ERR_DECODE', 'not in the Confluent wire format (magic byte 0 + schema id)');
  }
  return record.readUInt32BE(1);
}

interface AvroTap {
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

/**
 * avsc reads a map into a plain object with `val[key] = value`, so a key named `__proto__` (a
 * question id in `answers`) replaced the object's prototype instead of becoming an entry, and
 * `for…in` then listed the array's indices as questions. This map type reads every key as an own
 * property. Resolvers for other writer schemas reuse the reader's `_read` (avsc's MapType._update
 * copies it), so every writer schema gets the same behaviour.
 */
class OwnKeysMapType extends (avro.types.MapType as unknown as new (schema: unknown, opts: unknown) => { valuesType: { _read(tap: AvroTap): unknown } }) {
  _read(tap: AvroTap): Record<string, unknown> {
    const values = this.valuesType;
    const val: Record<string, unknown> = {};
    for (;;) {
      let n = tap.readLong();
      if (n === 0) return val;
      if (n < 0) {
        n = -n;
        tap.skipLong(); // block size in bytes
      }
      while (n--) {
        const key = tap.readString();
        const value = values._read(tap);
        if (key === '__proto__') Object.defineProperty(val, key, { value, enumerable: true, writable: true, configurable: true });
        else val[key] = value;
      }
    }
  }
}

/** Every Avro type of the vote schema, with maps read by OwnKeysMapType. */
function voteType(schemaJson: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaJson), {
    typeHook: (schema, opts) => (typeof schema === 'object' && (schema as { type?: unknown }).type === 'map' ? (new OwnKeysMapType(schema, opts) as unknown as avro.Type) : undefined),
  });
}

/** Decodes vote records with the current schema as reader, resolving any registered writer schema. */
export class VoteDecoder {
  private readonly reader: avro.Type;
  private readonly resolvers = new Map<number, avro.Resolver | avro.Type>();

  constructor(readerSchemaJson: string = voteSchemaJson) {
    this.reader = voteType(readerSchemaJson);
  }

  hasSchema(id: number): boolean {
    return this.resolvers.has(id);
  }

  /** True when records with this writer schema id are read without a resolver (writer == reader). */
  readsWithoutResolver(id: number): boolean {
    return this.resolvers.get(id) === this.reader;
  }

  /** True when the reader schema is `schemaJson` (same canonical form). */
  readerEquals(schemaJson: string): boolean {
    return this.reader.equals(voteType(schemaJson));
  }

  addWriterSchema(id: number, writerSchemaJson: string): void {
    if (this.resolvers.has(id)) return;
    const writer = voteType(writerSchemaJson);
    this.resolvers.set(id, writer.equals(this.reader) ? this.reader : this.reader.createResolver(writer));
  }

  /** Throws TALLY_ERR_DECODE for anything that is not a readable vote. */
  decode(record: Buffer): VoteCast {
    const id = schemaIdOf(record);
    const resolver = this.resolvers.get(id);
    if (resolver === undefined) throw new TallyError('TALLY_ERR_DECODE', `unknown writer schema id ${id}`);
    try {
      const payload = record.subarray(HEADER_BYTES);
      return (resolver === this.reader
        ? this.reader.fromBuffer(payload)
        : this.reader.fromBuffer(payload, resolver as avro.Resolver)) as VoteCast;
    } catch (error) {
      throw new TallyError('TALLY_ERR_DECODE', `Avro payload unreadable with schema id ${id}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Registry-connected codec: registers the current vote schema and encodes with its id. */
export class VoteCodec {
  readonly registry: InstanceType<typeof SchemaRegistry>;
  readonly subject: string;
  readonly decoder = new VoteDecoder();
  private readonly type = avro.Type.forSchema(JSON.parse(voteSchemaJson));
  private schemaId = -1;
  /** byte 0 is MAGIC_BYTE (0), 1..4 the schema id, the payload from HEADER_BYTES */
  private scratch = Buffer.alloc(4096);

  constructor(registryUrl: string, topic: string) {
    this.registry = new SchemaRegistry({ host: registryUrl, clientId: 'tally' });
    this.subject = `${topic}-value`;
  }

  get id(): number {
    if (this.schemaId < 0) throw new Error('VoteCodec.register() must be called before encoding');
    return this.schemaId;
  }

  /** Registers schemas/vote-cast.avsc under `<topic>-value` (idempotent: the registry returns the same id). */
  async register(): Promise<number> {
    const { id } = await this.registry.register({ type: SchemaType.AVRO, schema: voteSchemaJson }, { subject: this.subject });
    this.schemaId = id;
    this.decoder.addWriterSchema(id, voteSchemaJson);
    return id;
  }

  /**
   * Serializes once, synchronously: the hot path never waits on the registry. Header and payload
   * are written into one scratch buffer, so a record costs one allocation and one copy.
   */
  encode(vote: VoteCast): Buffer {
    let end = this.type.encode(vote, this.scratch, HEADER_BYTES);
    if (end < 0) {
      // Larger than the scratch buffer (-end more bytes needed): grow it for this and later records.
      this.scratch = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, this.scratch.length - end));
      this.scratch[0] = MAGIC_BYTE;
      this.scratch.writeUInt32BE(this.id, 1);
      end = this.type.encode(vote, this.scratch, HEADER_BYTES);
    }
    this.scratch.writeUInt32BE(this.id, 1);
    return Buffer.from(this.scratch.subarray(0, end));
  }

  /** The writer schema (JSON text) registered under `id`, fetched once per id. */
  async writerSchema(id: number): Promise<string> {
    const schema = (await this.registry.getSchema(id)) as unknown as { toJSON?: () => unknown; schema?: () => unknown };
    const json = typeof schema.schema === 'function' ? schema.schema() : schema;
    const text = JSON.stringify(json);
    this.decoder.addWriterSchema(id, text);
    return text;
  }

  /** Decodes, fetching an unknown writer schema from the registry first. */
  async decode(record: Buffer): Promise<VoteCast> {
    const id = schemaIdOf(record);
    if (!this.decoder.hasSchema(id)) await this.writerSchema(id);
    return this.decoder.decode(record);
  }
}
