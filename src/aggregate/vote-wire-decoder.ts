// The aggregator's vote decoder: a hand-written fast path for records written with the current
// schema (schemas/vote-cast.avsc), reading the Avro payload straight from the packed batch into the
// vote's fields, and avsc (VoteDecoder, src/vote-codec.ts) for everything else.
//
// Why: avsc was ~2 µs of the worker's ~9 µs per record (tap objects, a generated record class, a
// subarray per record, a resolver hop); this path reads the six fields with one cursor and
// allocates only the vote itself.
//
// Exactness: the fast path only ever returns what avsc would return. It handles well-formed
// payloads of the current schema; at the first thing it does not expect (a schema id whose writer
// schema differs from the reader, a long avsc would refuse, a negative length, a read past the
// record, a union index other than 0 or 1, trailing bytes) it
// gives up and the same record goes through avsc, which returns the same vote or throws its own
// TALLY_ERR_DECODE with its own message (the DLQ reason). The fast path reads at most once through
// the record's bytes, so it cannot hang on garbage. test/aggregate/vote-wire-decoder.test.ts
// compares both on random votes and on truncated, corrupted and random bytes.
//
// One exception, on purpose: a map or array count that the bytes left cannot hold (every item takes
// at least one byte). avsc does not stop there: it reads on past the end of the record, where every
// missing item reads as empty, and only then throws 'truncated buffer' — after 2^40 iterations for
// a count of 2^40, or with a V8 fatal error when an array grows past what V8 can hold (seen in the
// fuzz test). Its verdict, when it has one, is certain (avsc never moves back, so it ends past the
// end), so the fast path gives that verdict at once: TALLY_ERR_DECODE 'truncated buffer', DLQ.
//
// Layout it reads (Avro binary, no resolver: writer schema == reader schema):
//   voteId string · surveyId string · voterId string · answers map<array<string>> ·
//   region union[null, string] · castAt long
// Strings are a zigzag varint length then UTF-8; a map or array is blocks of (zigzag varint count,
// [byte size if the count is negative], items) ended by a count of 0.
import { TallyError } from '../errors.js';
import type { VoteCast, VoteDecoder } from '../vote-codec.js';

/** Magic byte 0 and a 4-byte schema id precede every Avro payload. */
const HEADER_BYTES = 5;
/**
 * The one writer schema the fast path reads (schemas/vote-cast.avsc, docs left out). If the reader
 * schema ever differs from it, the fast path is off and every record goes through avsc; the unit
 * test says so, so the layout here is updated with the schema.
 */
export const FAST_PATH_SCHEMA = JSON.stringify({
  type: 'record',
  name: 'VoteCast',
  namespace: 'dev.tally.v1',
  fields: [
    { name: 'voteId', type: 'string' },
    { name: 'surveyId', type: 'string' },
    { name: 'voterId', type: 'string' },
    { name: 'answers', type: { type: 'map', values: { type: 'array', items: 'string' } } },
    { name: 'region', type: ['null', 'string'], default: null },
    { name: 'castAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
});
/** ASCII strings up to this many bytes are kept and reused (their code fits in 31 bits). */
const SHORT_STRING_BYTES = 4;
const SHORT_STRINGS_KEPT = 4096;
/** Survey id strings kept for reuse (a direct-mapped cache), and the longest id kept. */
const SURVEY_IDS_KEPT = 256;
const SURVEY_ID_KEPT_BYTES = 128;
/** avsc's bound for a long it returns. */
const MAX_SAFE_LONG = 9007199254740990;

export class VoteWireDecoder {
  /** Byte range of the last fast-decoded vote's surveyId in the batch ([-1, -1] after avsc). */
  surveyIdStart = -1;
  surveyIdEnd = -1;
  /** Records the fast path handed to avsc (read by tests and probes). */
  fallbacks = 0;

  private bytes: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  /** ASCII strings of up to SHORT_STRING_BYTES, by their bytes (length, then 7 bits a byte). */
  private readonly shortStrings = new Map<number, string>();
  /** Survey ids read lately, by a hash of their bytes (`surveyIdString`). */
  private readonly surveyIds: Array<{ bytes: Buffer; text: string } | undefined> = new Array<{ bytes: Buffer; text: string } | undefined>(SURVEY_IDS_KEPT).fill(undefined);
  /** A block count the bytes left cannot hold (0: none). */
  private impossibleCount = 0;
  /** Where the bytes of the last string read start. */
  private stringStart = 0;
  private readonly fastEnabled: boolean;

  constructor(private readonly decoder: VoteDecoder) {
    this.fastEnabled = decoder.readerEquals(FAST_PATH_SCHEMA);
  }

  /** True when records with this schema id take the fast path (their writer schema is the reader's). */
  isFast(schemaId: number): boolean {
    return this.fastEnabled && this.decoder.readsWithoutResolver(schemaId);
  }

  /**
   * The vote in bytes[start, end) (Confluent wire format: magic byte, schema id, payload), whose
   * schema id the decoder knows. Throws TALLY_ERR_DECODE exactly when VoteDecoder.decode would.
   */
  decode(bytes: Buffer, start: number, end: number): VoteCast {
    if (end - start > HEADER_BYTES && bytes[start] === 0 && this.isFast(bytes.readUInt32BE(start + 1))) {
      this.impossibleCount = 0;
      const vote = this.fast(bytes, start + HEADER_BYTES, end);
      if (vote !== null) return vote;
      if (this.impossibleCount > 0) {
        const id = bytes.readUInt32BE(start + 1);
        throw new TallyError('TALLY_ERR_DECODE', `Avro payload unreadable with schema id ${id}: truncated buffer (a block of ${this.impossibleCount} items, ${Math.max(0, this.end - this.pos)} bytes left)`);
      }
      this.fallbacks++;
    }
    this.surveyIdStart = this.surveyIdEnd = -1;
    return this.decoder.decode(bytes.subarray(start, end));
  }

  /** The vote, or null for anything the fast path does not handle (avsc decides then). */
  private fast(bytes: Buffer, start: number, end: number): VoteCast | null {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    const voteId = this.string();
    if (voteId === null) return null;
    const surveyId = this.surveyIdString();
    if (surveyId === null) return null;
    const surveyIdStart = this.stringStart;
    const surveyIdEnd = this.pos;
    const voterId = this.string();
    if (voterId === null) return null;
    const answers = this.answers();
    if (answers === null) return null;
    const branch = this.long();
    let region: string | null = null;
    if (branch === 1) {
      region = this.string();
      if (region === null) return null;
    } else if (branch !== 0) return null;
    const castAt = this.long();
    // avsc refuses a long beyond ±(2^53 - 2) ('potential precision loss')
    if (!(castAt >= -MAX_SAFE_LONG && castAt <= MAX_SAFE_LONG) || this.pos !== end) return null;
    this.surveyIdStart = surveyIdStart;
    this.surveyIdEnd = surveyIdEnd;
    return { voteId, surveyId, voterId, answers, region, castAt };
  }

  /**
   * A zigzag varint inside the record, computed as avsc computes it (exact below 2^53); NaN when it
   * runs past the record's end.
   */
  private long(): number {
    const { bytes, end } = this;
    let pos = this.pos;
    if (pos >= end) return Number.NaN;
    let byte = bytes[pos++]!;
    if (byte < 0x80) {
      this.pos = pos;
      return (byte >>> 1) ^ -(byte & 1);
    }
    let value = byte & 0x7f;
    let scale = 0x80;
    do {
      if (pos >= end) return Number.NaN;
      byte = bytes[pos++]!;
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte & 0x80);
    this.pos = pos;
    return value % 2 === 1 ? -(value + 1) / 2 : value / 2;
  }

  /** Reads a string's length and steps over its bytes (from `stringStart`); -1 for a negative or overlong one. */
  private stringLength(): number {
    const length = this.long();
    if (!(length >= 0) || length > this.end - this.pos) return -1;
    this.stringStart = this.pos;
    this.pos += length;
    return length;
  }

  /** A string inside the record; null for a negative or overlong length. */
  private string(): string | null {
    const length = this.stringLength();
    if (length < 0) return null;
    const from = this.stringStart;
    if (length === 0) return '';
    if (length <= SHORT_STRING_BYTES) {
      // Question, option and region ids are short and repeat in every vote: one string each.
      const { bytes } = this;
      let code = length;
      for (let i = from; i < from + length; i++) {
        const byte = bytes[i]!;
        if (byte >= 0x80) return bytes.utf8Slice(from, from + length);
        code = code * 0x80 + byte;
      }
      let text = this.shortStrings.get(code);
      if (text === undefined) {
        text = bytes.latin1Slice(from, from + length);
        if (this.shortStrings.size < SHORT_STRINGS_KEPT) this.shortStrings.set(code, text);
      }
      return text;
    }
    return this.bytes.utf8Slice(from, from + length);
  }

  /**
   * The survey id: a string like `string()`'s, but an id whose bytes were read lately returns the
   * same string again (a batch holds the votes of a few surveys). No string per vote, and every map
   * keyed by survey id then finds it by identity, its hash already computed.
   */
  private surveyIdString(): string | null {
    const length = this.stringLength();
    if (length < 0) return null;
    const from = this.stringStart;
    if (length === 0) return '';
    const { bytes } = this;
    if (length > SURVEY_ID_KEPT_BYTES) return bytes.utf8Slice(from, from + length);
    let hash = 0x811c9dc5; // FNV-1a
    for (let i = from; i < from + length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    const slot = (hash >>> 0) % SURVEY_IDS_KEPT;
    const kept = this.surveyIds[slot];
    if (kept !== undefined && kept.bytes.length === length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = kept.bytes[i] === bytes[from + i];
      if (same) return kept.text;
    }
    const text = bytes.utf8Slice(from, from + length);
    this.surveyIds[slot] = { bytes: Buffer.from(bytes.subarray(from, from + length)), text };
    return text;
  }

  /**
   * The count of the next block of a map or array, read as avsc reads it (any length, bytes past the
   * record read as 0): 0 at the end; null, with `impossibleCount` set, when the bytes left cannot
   * hold that many items of at least `minItemBytes` each.
   */
  private blockCount(minItemBytes: number): number | null {
    let count = this.count();
    if (count < 0) {
      count = -count;
      this.skipVarint(); // the block's size in bytes, not needed
    }
    if (count === 0 || count * minItemBytes <= this.end - this.pos) return count;
    this.impossibleCount = count;
    return null;
  }

  /** A zigzag varint of any length; bytes past the record end it, as in avsc. Exact below 2^53. */
  private count(): number {
    const { bytes, end } = this;
    let value = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = this.pos < end ? bytes[this.pos]! : 0;
      this.pos++;
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte & 0x80);
    return value % 2 === 1 ? -(value + 1) / 2 : value / 2;
  }

  private skipVarint(): void {
    let byte: number;
    do {
      byte = this.pos < this.end ? this.bytes[this.pos]! : 0;
      this.pos++;
    } while (byte & 0x80);
  }

  /** map<array<string>>; every key an own property (as OwnKeysMapType in vote-codec.ts). */
  private answers(): Record<string, string[]> | null {
    const answers: Record<string, string[]> = {};
    for (;;) {
      let count = this.blockCount(2);
      if (count === null) return null;
      if (count === 0) return answers;
      while (count-- > 0) {
        const key = this.string();
        if (key === null) return null;
        const options = this.options();
        if (options === null) return null;
        if (key === '__proto__') Object.defineProperty(answers, key, { value: options, enumerable: true, writable: true, configurable: true });
        else answers[key] = options;
      }
    }
  }

  /** array<string> */
  private options(): string[] | null {
    // The first block's count sizes the array (an empty array grew to 17 slots on its first push:
    // these arrays were a fifth of the worker's allocations); a later block (writers send one) pushes.
    let count = this.blockCount(1);
    if (count === null) return null;
    if (count === 0) return [];
    const options = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const option = this.string();
      if (option === null) return null;
      options[i] = option;
    }
    for (;;) {
      count = this.blockCount(1);
      if (count === null) return null;
      if (count === 0) return options;
      while (count-- > 0) {
        const option = this.string();
        if (option === null) return null;
        options.push(option);
      }
    }
  }
}

declare module 'node:buffer' {
  interface Buffer {
    /** Node's UTF-8 decode of [start, end) without toString's argument checks (what avsc calls). */
    utf8Slice(start: number, end: number): string;
    latin1Slice(start: number, end: number): string;
  }
}
