// The bytes of a Kafka Produce request (v3..v7 share them) for the vote producer's batches, written
// into one buffer instead of by kafkajs's generic encoder.
//
// Why: kafkajs encodes each record into its own Encoder (a zero-filled 512-byte Buffer.alloc, one
// small Buffer per varint, Long objects for the timestamp varlong, an object spread per message),
// then copies every record, batch, partition and topic encoder into the next one. In a perf
// profile of `bench ingest` that was about 5 % of an ingest worker's CPU (kafkajs as a whole: 10 %),
// for records of ~150 bytes. The request format is fixed by the protocol; this writes exactly the
// bytes kafkajs writes (test/ingest/kafka-produce-encoder.test.ts compares both on random batches)
// and leaves everything else — connections, retries, idempotent sequence numbers, acks — to kafkajs.
//
// How: kafkajs's produce v3 request module (which v4..v7 reuse) is a CommonJS module loaded on the
// first produce request; installFastProduceEncoder() loads it first and replaces its export by a
// wrapper whose `encode` is encodeProduceRequest, for the batches it knows (no compression, no
// record timestamps or headers: what VoteProducer sends); any other request keeps kafkajs's encode.
// If kafkajs already loaded the module, or its layout changed, nothing is replaced (returns false).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface LongLike {
  getHighBits(): number;
  getLowBits(): number;
}

export interface ProduceMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: Record<string, unknown>;
  timestamp?: number | string;
}

export interface ProducePartitionData {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}

export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  /** kafkajs passes the idempotent producer's id as a decimal string; a Long or a number are taken too. */
  producerId?: LongLike | number | string;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: ProducePartitionData[] }[];
}

interface KafkaRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<unknown>;
}

type RequestFactory = (args: ProduceRequestArgs) => KafkaRequest;

const MODULES = {
  v3: 'kafkajs/src/protocol/requests/produce/v3/request.js',
  encoder: 'kafkajs/src/protocol/encoder.js',
  crc32C: 'kafkajs/src/protocol/recordBatch/crc32C/index.js',
};

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;
const BATCH_HEADER_BYTES = 4 + 1 + 4; // partitionLeaderEpoch, magic, crc
const BATCH_BODY_HEADER_BYTES = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4; // attributes … firstSequence, record count

/** Bytes of an unsigned LEB128 varint of a zigzag-encoded int32, as kafkajs writes it. */
function varIntSize(value: number): number {
  let z = (value << 1) ^ (value >> 31);
  let bytes = 1;
  while ((z & 0xffffff80) !== 0) {
    bytes += 1;
    z >>>= 7;
  }
  return bytes;
}

function writeVarInt(buffer: Buffer, offset: number, value: number): number {
  let z = (value << 1) ^ (value >> 31);
  while ((z & 0xffffff80) !== 0) {
    buffer[offset++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buffer[offset++] = z & 0x7f;
  return offset;
}

function writeInt64(buffer: Buffer, offset: number, value: LongLike | number | string): number {
  if (typeof value === 'number') {
    // Safe integers only (timestamps, -1): high and low 32 bits in two's complement.
    buffer.writeInt32BE(Math.floor(value / 0x1_0000_0000) | 0, offset);
    buffer.writeUInt32BE(value >>> 0, offset + 4);
  } else if (typeof value === 'string') {
    buffer.writeBigInt64BE(BigInt.asIntN(64, BigInt(value)), offset); // kafkajs keeps the producer id as a decimal string
  } else {
    buffer.writeInt32BE(value.getHighBits(), offset);
    buffer.writeInt32BE(value.getLowBits(), offset + 4);
  }
  return offset + 8;
}

/** True when every message is one this encoder writes exactly as kafkajs (else kafkajs encodes the request). */
export function isPlainBatch(args: ProduceRequestArgs): boolean {
  if ((args.compression ?? 0) !== 0) return false;
  if (typeof args.producerId === 'number' && !Number.isSafeInteger(args.producerId)) return false;
  if (typeof args.producerId === 'string' && !/^-?[0-9]{1,19}$/.test(args.producerId)) return false;
  for (const { partitions } of args.topicData) {
    for (const { messages } of partitions) {
      for (const message of messages) {
        if (!Buffer.isBuffer(message.value) || (message.key != null && !Buffer.isBuffer(message.key))) return false;
        if (message.timestamp != null) return false;
        if (message.headers !== undefined && Object.keys(message.headers).length > 0) return false;
      }
    }
  }
  return true;
}

/**
 * The Produce request body (v3 layout) of a plain batch (isPlainBatch), byte for byte what kafkajs's
 * v3 request encodes: transactional id, acks, timeout, then per topic and partition one record batch
 * (magic 2, CRC-32C, no compression; record timestamps are deltas from the batch's Date.now()).
 */
export function encodeProduceRequest(args: ProduceRequestArgs, crc32C: (bytes: Buffer) => number, now: number = Date.now()): Buffer {
  const transactionalId = args.transactionalId ?? null;
  const producerId = args.producerId ?? -1;
  const producerEpoch = args.producerEpoch ?? 0;
  const attributes = transactionalId ? TRANSACTIONAL_MASK : 0;

  // Sizes first, so everything is written once into one buffer.
  let size = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
  const recordSizes: number[][] = [];
  for (const { topic, partitions } of args.topicData) {
    size += 2 + Buffer.byteLength(topic) + 4;
    for (const { messages } of partitions) {
      const sizes = new Array<number>(messages.length);
      let records = 0;
      for (let i = 0; i < messages.length; i++) {
        const { key, value } = messages[i]!;
        const keyLength = key == null ? -1 : key.length;
        const valueLength = value!.length;
        const body =
          1 + // attributes
          1 + // timestampDelta 0 (varlong)
          varIntSize(i) +
          varIntSize(keyLength) +
          Math.max(keyLength, 0) +
          varIntSize(valueLength) +
          valueLength +
          1; // no headers
        sizes[i] = body;
        records += varIntSize(body) + body;
      }
      recordSizes.push(sizes);
      size += 4 + 4 + 8 + 4 + BATCH_HEADER_BYTES + BATCH_BODY_HEADER_BYTES + records; // partition, record set size, firstOffset, batch length, batch
    }
  }

  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (transactionalId === null) {
    at = out.writeInt16BE(-1, at);
  } else {
    at = out.writeInt16BE(Buffer.byteLength(transactionalId), at);
    at += out.write(transactionalId, at, 'utf8');
  }
  at = out.writeInt16BE(args.acks, at);
  at = out.writeInt32BE(args.timeout, at);
  at = out.writeInt32BE(args.topicData.length, at);
  let partitionIndex = 0;
  for (const { topic, partitions } of args.topicData) {
    at = out.writeInt16BE(Buffer.byteLength(topic), at);
    at += out.write(topic, at, 'utf8');
    at = out.writeInt32BE(partitions.length, at);
    for (const { partition, firstSequence, messages } of partitions) {
      const sizes = recordSizes[partitionIndex++]!;
      at = out.writeInt32BE(partition, at);
      const recordSetSizeAt = at;
      at += 4;
      at = writeInt64(out, at, 0); // firstOffset
      const batchLengthAt = at;
      at += 4;
      const batchStart = at;
      at = out.writeInt32BE(0, at); // partitionLeaderEpoch
      at = out.writeInt8(MAGIC_BYTE, at);
      const crcAt = at;
      at += 4;
      const bodyStart = at;
      at = out.writeInt16BE(attributes, at);
      at = out.writeInt32BE(messages.length - 1, at); // lastOffsetDelta
      at = writeInt64(out, at, now); // firstTimestamp
      at = writeInt64(out, at, now); // maxTimestamp
      at = writeInt64(out, at, producerId);
      at = out.writeInt16BE(producerEpoch, at);
      at = out.writeInt32BE(firstSequence ?? 0, at);
      at = out.writeInt32BE(messages.length, at);
      for (let i = 0; i < messages.length; i++) {
        const { key, value } = messages[i]!;
        at = writeVarInt(out, at, sizes[i]!);
        out[at++] = 0; // record attributes
        out[at++] = 0; // timestampDelta
        at = writeVarInt(out, at, i); // offsetDelta
        if (key == null) {
          at = writeVarInt(out, at, -1);
        } else {
          at = writeVarInt(out, at, key.length);
          at += (key as Buffer).copy(out, at);
        }
        at = writeVarInt(out, at, value!.length);
        at += (value as Buffer).copy(out, at);
        out[at++] = 0; // headers: none
      }
      out.writeUInt32BE(crc32C(out.subarray(bodyStart, at)), crcAt);
      out.writeInt32BE(at - batchStart, batchLengthAt);
      out.writeInt32BE(at - recordSetSizeAt - 4, recordSetSizeAt);
    }
  }
  if (at !== size) throw new Error(`produce request: wrote ${at} bytes, sized ${size}`);
  return out;
}

let installed: boolean | null = null;

/**
 * Makes kafkajs encode the produce requests of plain batches with encodeProduceRequest. Call before
 * the first produce request of the process (VoteProducer does, when its module loads). Returns
 * whether the fast path is in place.
 */
export function installFastProduceEncoder(): boolean {
  if (installed !== null) return installed;
  installed = false;
  try {
    const path = require.resolve(MODULES.v3);
    if (require.cache[path] !== undefined) return false; // kafkajs already captured its own encoder
    const original = require(path) as RequestFactory;
    const Encoder = require(MODULES.encoder) as { prototype: object };
    const crc32C = require(MODULES.crc32C) as (bytes: Buffer) => number;
    const fast: RequestFactory = (args) => {
      const request = original(args);
      if (!isPlainBatch(args)) return request;
      // kafkajs's request framing takes an Encoder: `buf` holding the bytes, `offset` their length.
      return {
        ...request,
        encode: async () => {
          const bytes = encodeProduceRequest(args, crc32C);
          return Object.assign(Object.create(Encoder.prototype) as object, { buf: bytes, offset: bytes.length });
        },
      };
    };
    require.cache[path]!.exports = fast;
    installed = true;
  } catch {
    installed = false; // another kafkajs layout: its own encoder stays
  }
  return installed;
}
