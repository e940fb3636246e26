// Copies invalid records to the DLQ with their reason and origin, BEFORE the state write that moves
// past them, so a crash cannot lose an entry. A crash between this produce and the write means the
// batch is processed again and its entries are produced again: the DLQ is at-least-once, and
// (tally-origin-partition, tally-origin-offset) identifies an entry for readers that need it once.
//
// One fetch can hold up to 2 MB of invalid records (a burst with an unknown schema id). Sent as one
// request, the broker would refuse it as too large and the partition would retry the same batch
// forever; so the entries go out in sends of at most `maxBatchBytes` (below the DLQ topic's
// max.message.bytes, read at start by dlqBatchLimit). An entry that alone exceeds it carries a
// truncated value (header tally-truncated = the original length): the whole record stays in the
// votes topic at its origin offset.
import kafkajs, { type Admin, type Message, type Producer } from 'kafkajs';
import type { DlqRecord } from './worker-messages.js';

export const DLQ_HEADER_REASON = 'tally-reason';
export const DLQ_HEADER_PARTITION = 'tally-origin-partition';
export const DLQ_HEADER_OFFSET = 'tally-origin-offset';
export const DLQ_HEADER_TRUNCATED = 'tally-truncated';

/** Per-record framing of a Kafka v2 record (length, attributes, deltas, varints), rounded up. */
const RECORD_OVERHEAD_BYTES = 32;
/** Record batch header (61 bytes) and the produce request around it, rounded up. */
const REQUEST_OVERHEAD_BYTES = 1024;
/** Kafka's default message.max.bytes, when the topic's value cannot be read. */
const DEFAULT_TOPIC_LIMIT_BYTES = 1_048_588;

/** The bytes a DLQ send may carry: the DLQ topic's max.message.bytes minus a margin. */
export async function dlqBatchLimit(admin: Admin, dlqTopic: string): Promise<number> {
  let limit = DEFAULT_TOPIC_LIMIT_BYTES;
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: dlqTopic, configNames: ['max.message.bytes'] }],
    });
    const value = Number(described.resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue);
    if (Number.isFinite(value) && value > 0) limit = value;
  } catch {
    // keep Kafka's default
  }
  return dlqSendLimit(limit);
}

/** 90 % of a topic's max.message.bytes, less the request overhead. */
export function dlqSendLimit(topicLimitBytes: number): number {
  return Math.max(4096, Math.floor(topicLimitBytes * 0.9) - REQUEST_OVERHEAD_BYTES);
}

function bytesOf(message: Message): number {
  let bytes = RECORD_OVERHEAD_BYTES + (message.key ? (message.key as Buffer).length : 0) + (message.value ? (message.value as Buffer).length : 0);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += Buffer.byteLength(name) + Buffer.byteLength(String(value)) + 8;
  return bytes;
}

/** The DLQ entry of one record, its value cut to fit `maxBytes` if it alone does not. */
function entryOf(record: DlqRecord, partition: number, maxBytes: number): Message {
  const message: Message = {
    key: record.key ? Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength) : null,
    value: record.value ? Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength) : null,
    headers: {
      [DLQ_HEADER_REASON]: record.reason,
      [DLQ_HEADER_PARTITION]: String(partition),
      [DLQ_HEADER_OFFSET]: record.offset,
    },
  };
  const excess = bytesOf(message) - maxBytes;
  if (excess > 0 && message.value) {
    const value = message.value as Buffer;
    message.headers![DLQ_HEADER_TRUNCATED] = String(value.length);
    message.value = value.subarray(0, Math.max(0, value.length - excess - 64));
  }
  return message;
}

/** Splits entries, in order, into sends of at most `maxBytes` each. */
export function dlqSends(partition: number, records: readonly DlqRecord[], maxBytes: number): Message[][] {
  const sends: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const record of records) {
    const message = entryOf(record, partition, maxBytes);
    const size = bytesOf(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      sends.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) sends.push(current);
  return sends;
}

/** Every entry, in order, in sends under `maxBytes` (dlqBatchLimit), each acknowledged by all replicas. */
export async function produceToDlq(producer: Producer, dlqTopic: string, partition: number, records: readonly DlqRecord[], maxBytes: number): Promise<void> {
  for (const messages of dlqSends(partition, records, maxBytes)) await producer.send({ topic: dlqTopic, acks: -1, messages });
}
