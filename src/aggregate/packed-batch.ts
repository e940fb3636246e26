// Packs a Kafka batch into two transferable buffers (see PackedBatch), so a batch crosses to its
// worker thread as one message with two moved ArrayBuffers instead of one object per record.
import type { PackedBatch } from './worker-messages.js';

/** Bytes reserved before each value for `head (32) || offset (8)` of the hash chain. */
export const CHAIN_PREFIX_BYTES = 40;
export const INDEX_STRIDE = 6;
export const I_OFFSET = 0;
export const I_KEY_START = 1;
export const I_KEY_LENGTH = 2;
export const I_VALUE_START = 3;
export const I_VALUE_LENGTH = 4;
/** The record's Kafka timestamp (epoch ms; -1 when it has none): castAt is clamped to it. */
export const I_TIMESTAMP = 5;

export interface KafkaRecordLike {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Epoch ms as kafkajs gives it; absent or "-1": the record has none. */
  timestamp?: string;
}

/** Packs records whose offset is at least `fromOffset` (records below it were already counted). */
export function packBatch(messages: readonly KafkaRecordLike[], fromOffset: number): PackedBatch | null {
  let start = 0;
  while (start < messages.length && Number(messages[start]!.offset) < fromOffset) start++;
  const count = messages.length - start;
  if (count === 0) return null;

  let size = 0;
  for (let i = start; i < messages.length; i++) {
    const { key, value } = messages[i]!;
    size += (key ? key.length : 0) + CHAIN_PREFIX_BYTES + (value ? value.length : 0);
  }
  const bytes = new Uint8Array(new ArrayBuffer(size));
  const index = new Float64Array(count * INDEX_STRIDE);
  let at = 0;
  for (let i = start, row = 0; i < messages.length; i++, row += INDEX_STRIDE) {
    const { key, value, offset, timestamp } = messages[i]!;
    index[row + I_OFFSET] = Number(offset);
    index[row + I_TIMESTAMP] = timestamp === undefined ? -1 : Number(timestamp);
    index[row + I_KEY_START] = at;
    if (key) {
      bytes.set(key, at);
      index[row + I_KEY_LENGTH] = key.length;
      at += key.length;
    } else {
      index[row + I_KEY_LENGTH] = -1;
    }
    at += CHAIN_PREFIX_BYTES;
    index[row + I_VALUE_START] = at;
    if (value) {
      bytes.set(value, at);
      index[row + I_VALUE_LENGTH] = value.length;
      at += value.length;
    } else {
      index[row + I_VALUE_LENGTH] = -1;
    }
  }
  return { bytes, index };
}

/** Read access to a packed batch on the worker side: one row per record, in offset order. */
export class PackedRecords {
  readonly bytes: Buffer;
  readonly index: Float64Array;
  readonly rows: number;

  constructor(batch: PackedBatch) {
    this.bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
    this.index = batch.index;
    this.rows = batch.index.length / INDEX_STRIDE;
  }

  offset(row: number): number {
    return this.index[row * INDEX_STRIDE + I_OFFSET]!;
  }

  /** The record's Kafka timestamp (epoch ms), -1 when it has none. */
  timestamp(row: number): number {
    return this.index[row * INDEX_STRIDE + I_TIMESTAMP]!;
  }

  /** Start of the value in `bytes`; CHAIN_PREFIX_BYTES scratch bytes precede it. */
  valueStart(row: number): number {
    return this.index[row * INDEX_STRIDE + I_VALUE_START]!;
  }

  /** Length of the value, -1 for a null value. */
  valueLength(row: number): number {
    return this.index[row * INDEX_STRIDE + I_VALUE_LENGTH]!;
  }

  value(row: number): Buffer | null {
    const length = this.valueLength(row);
    if (length < 0) return null;
    const start = this.valueStart(row);
    return this.bytes.subarray(start, start + length);
  }

  /** Start of the key in `bytes`. */
  keyStart(row: number): number {
    return this.index[row * INDEX_STRIDE + I_KEY_START]!;
  }

  /** Length of the key, -1 for a null key. */
  keyLength(row: number): number {
    return this.index[row * INDEX_STRIDE + I_KEY_LENGTH]!;
  }

  key(row: number): Buffer | null {
    const at = row * INDEX_STRIDE;
    const length = this.index[at + I_KEY_LENGTH]!;
    if (length < 0) return null;
    const start = this.index[at + I_KEY_START]!;
    return this.bytes.subarray(start, start + length);
  }

  keyText(row: number): string | null {
    const at = row * INDEX_STRIDE;
    const length = this.index[at + I_KEY_LENGTH]!;
    if (length < 0) return null;
    const start = this.index[at + I_KEY_START]!;
    return this.bytes.toString('utf8', start, start + length);
  }

  /** The first row whose offset is at least `offset` (rows when there is none). */
  firstRowFrom(offset: number): number {
    let row = 0;
    while (row < this.rows && this.offset(row) < offset) row++;
    return row;
  }
}
