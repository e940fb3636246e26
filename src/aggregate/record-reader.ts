// The reader of the record path: per record, in offset order, one hash-chain step (over EVERY
// record), then the value in the Confluent wire format → a VoteCast that meets the structural rules
// of docs/counting-rules.md, or a DLQ entry with the reason. What it reads goes to the counting
// core (apply-votes.ts); it changes no tally and does no I/O (writer schemas are resolved before a
// batch is read, see `unresolvedSchemaIds`).
import { hash } from 'node:crypto';
import { isTallyError } from '../errors.js';
import { LEAF_PREFIX_BYTES, writeLeafPrefix } from '../merkle-tree.js';
import type { VoteCast, VoteDecoder } from '../vote-codec.js';
import { CHAIN_PREFIX_BYTES, type PackedRecords } from './packed-batch.js';
import { structuralProblem } from './vote-rules.js';
import type { WriterSchemas } from './writer-schemas.js';
import type { DlqRecord } from './worker-messages.js';

export const CHAIN_GENESIS: Buffer = Buffer.alloc(32);
/** Magic byte 0 and a 4-byte schema id precede every Avro payload. */
const HEADER_BYTES = 5;

export class RecordReader {
  constructor(
    private readonly decoder: VoteDecoder,
    private readonly schemas: WriterSchemas,
  ) {}

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
   * CHAIN_PREFIX_BYTES free before each value, so head and offset are written there.
   */
  chain(records: PackedRecords, row: number, head: Buffer): Buffer {
    const { bytes } = records;
    const offset = records.offset(row);
    const valueStart = records.valueStart(row);
    const prefix = valueStart - CHAIN_PREFIX_BYTES;
    head.copy(bytes, prefix);
    bytes.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), prefix + 32);
    bytes.writeUInt32BE(offset >>> 0, prefix + 36);
    return hash('sha256', bytes.subarray(prefix, valueStart + Math.max(records.valueLength(row), 0)), 'buffer' as 'hex') as unknown as Buffer;
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
          vote = this.decoder.decode(bytes.subarray(valueStart, valueStart + valueLength));
          reason = structuralProblem(vote, records.keyText(row));
        } catch (error) {
          if (!isTallyError(error, 'TALLY_ERR_DECODE')) throw error;
          reason = error.detail ?? error.message;
        }
      }
    }
    if (reason === null) return vote;
    const key = records.key(row);
    const value = records.value(row);
    dlq.push({
      offset: String(records.offset(row)),
      key: key === null ? null : new Uint8Array(key),
      value: value === null ? null : new Uint8Array(value),
      reason,
    });
    return null;
  }
}
