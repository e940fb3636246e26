// The reader of the record path: per record, in offset order, one hash-chain step (over EVERY
// record), then the value in the Confluent wire format → a VoteCast that meets the structural rules
// of docs/counting-rules.md, or a DLQ entry with the reason. What it reads goes to the counting
// core (apply-votes.ts); it changes no tally and does no I/O (writer schemas are resolved before a
// batch is read, see `unresolvedSchemaIds`).
//
// Per record this is the hot path of the aggregator, so: the chain head travels as a 32-character
// latin1 string (crypto.hash's 'buffer' output cost twice its 'latin1' one on Node 20), votes of
// the current schema are decoded by vote-wire-decoder.ts straight from the batch's bytes, and the
// key is compared with the survey id byte for byte (no key string) when the two match.
import { hash } from 'node:crypto';
import { isTallyError } from '../errors.js';
import { LEAF_PREFIX_BYTES, writeLeafPrefix } from '../merkle-tree.js';
import type { VoteCast, VoteDecoder } from '../vote-codec.js';
import { CHAIN_PREFIX_BYTES, type PackedRecords } from './packed-batch.js';
import { answersProblem, idsProblem, keyProblem } from './vote-rules.js';
import { VoteWireDecoder } from './vote-wire-decoder.js';
import type { WriterSchemas } from './writer-schemas.js';
import type { DlqRecord } from './worker-messages.js';

export const CHAIN_GENESIS: Buffer = Buffer.alloc(32);
/** Magic byte 0 and a 4-byte schema id precede every Avro payload. */
const HEADER_BYTES = 5;
const SHARD_SEPARATOR_BYTE = 0x23; // '#', partition-key.ts

export class RecordReader {
  readonly wire: VoteWireDecoder;

  constructor(
    decoder: VoteDecoder,
    private readonly schemas: WriterSchemas,
  ) {
    this.wire = new VoteWireDecoder(decoder);
  }

  /** Writer schema ids of rows [from, records.rows) the decoder does not know yet (null: none). */
  unresolvedSchemaIds(records: PackedRecords, from: number): Set<number> | null {
    let unknown: Set<number> | null = null;
    const { bytes } = records;
    for (let row = from; row < records.rows; row++) {
      const start = records.valueStart(row);
      if (records.valueLength(row) < HEADER_BYTES || bytes[start] !== 0) continue;
      const id = bytes.readUInt32BE(start + 1);
      if (!this.schemas.isResolved(id)) (unknown ??= new Set()).add(id);
    }
    return unknown;
  }

  /**
   * h(n) = SHA-256(h(n-1) || offset as int64 BE || value), hashed in place: the packer left
   * CHAIN_PREFIX_BYTES free before each value, so head and offset are written there. Heads are
   * 32-byte digests as latin1 strings (`headText` / `headBytes` convert).
   */
  chain(records: PackedRecords, row: number, head: string): string {
    const { bytes } = records;
    const offset = records.offset(row);
    const valueStart = records.valueStart(row);
    const prefix = valueStart - CHAIN_PREFIX_BYTES;
    bytes.latin1Write(head, prefix, 32);
    bytes.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), prefix + 32);
    bytes.writeUInt32BE(offset >>> 0, prefix + 36);
    return hash('sha256', bytes.subarray(prefix, valueStart + Math.max(records.valueLength(row), 0)), 'binary'); // 'binary' is latin1
  }

  /**
   * The record's Merkle leaf hash SHA-256(0x00 || offset as int64 BE || value), also hashed in
   * place: the 9 bytes before the value are free scratch (call after `chain`, which uses them).
   * As a latin1 string (MerkleAccumulator.pushDigest): much cheaper from hash() than a Buffer.
   */
  leafDigest(records: PackedRecords, row: number): string {
    const { bytes } = records;
    const valueStart = records.valueStart(row);
    const prefix = valueStart - LEAF_PREFIX_BYTES;
    writeLeafPrefix(bytes, prefix, records.offset(row));
    return hash('sha256', bytes.subarray(prefix, valueStart + Math.max(records.valueLength(row), 0)), 'binary');
  }

  /** The record's vote, or null after pushing its DLQ entry (why it cannot be counted). */
  read(records: PackedRecords, row: number, dlq: DlqRecord[]): VoteCast | null {
    const { bytes } = records;
    const valueStart = records.valueStart(row);
    const valueLength = records.valueLength(row);
    let reason: string | null;
    let vote: VoteCast | null = null;
    if (valueLength < 0) reason = 'value is null';
    else if (valueLength < HEADER_BYTES || bytes[valueStart] !== 0) reason = 'not in the Confluent wire format (magic byte 0 + schema id)';
    else {
      reason = this.schemas.problemWith(bytes.readUInt32BE(valueStart + 1));
      if (reason === null) {
        try {
          vote = this.wire.decode(bytes, valueStart, valueStart + valueLength);
          reason = idsProblem(vote) ?? (this.keyIsForSurvey(records, row) ? null : keyProblem(vote, records.keyText(row))) ?? answersProblem(vote);
        } catch (error) {
          if (!isTallyError(error, 'TALLY_ERR_DECODE')) throw error;
          reason = error.detail ?? error.message;
        }
      }
    }
    if (reason === null) {
      // docs/counting-rules.md: a castAt after the record's Kafka timestamp is clamped to it.
      const timestamp = records.timestamp(row);
      if (timestamp >= 0 && vote!.castAt > timestamp) vote!.castAt = timestamp;
      return vote;
    }
    this.dlq(records, row, reason, dlq);
    return null;
  }

  /**
   * True when the record's key is the survey id the wire decoder just read, or that id + '#' + a
   * shard, compared as bytes. False means "not sure": keyProblem then decides on the key's text.
   */
  private keyIsForSurvey(records: PackedRecords, row: number): boolean {
    const { surveyIdStart, surveyIdEnd } = this.wire;
    const keyLength = records.keyLength(row);
    const idLength = surveyIdEnd - surveyIdStart;
    if (surveyIdStart < 0 || keyLength < idLength) return false;
    const { bytes } = records;
    const keyStart = records.keyStart(row);
    if (keyLength > idLength && bytes[keyStart + idLength] !== SHARD_SEPARATOR_BYTE) return false;
    for (let i = 0; i < idLength; i++) {
      const byte = bytes[surveyIdStart + i];
      if (byte !== bytes[keyStart + i] || byte === SHARD_SEPARATOR_BYTE) return false;
    }
    return true;
  }

  private dlq(records: PackedRecords, row: number, reason: string, dlq: DlqRecord[]): void {
    const key = records.key(row);
    const value = records.value(row);
    dlq.push({
      offset: String(records.offset(row)),
      key: key === null ? null : new Uint8Array(key),
      value: value === null ? null : new Uint8Array(value),
      reason,
    });
  }
}

declare module 'node:buffer' {
  interface Buffer {
    /** Node's latin1 write without write()'s argument checks. */
    latin1Write(text: string, offset: number, length: number): number;
  }
}
