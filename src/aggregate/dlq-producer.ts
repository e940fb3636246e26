// Copies invalid records to the DLQ with their reason and origin, BEFORE the state write that moves
// past them, so a crash cannot lose an entry. A crash between this produce and the write means the
// batch is processed again and its entries are produced again: the DLQ is at-least-once, and
// (tally-origin-partition, tally-origin-offset) identifies an entry for readers that need it once.
import type { Producer } from 'kafkajs';
import type { DlqRecord } from './worker-messages.js';

export const DLQ_HEADER_REASON = 'tally-reason';
export const DLQ_HEADER_PARTITION = 'tally-origin-partition';
export const DLQ_HEADER_OFFSET = 'tally-origin-offset';

export async function produceToDlq(producer: Producer, dlqTopic: string, partition: number, records: readonly DlqRecord[]): Promise<void> {
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: records.map((record) => ({
      key: record.key ? Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength) : null,
      value: record.value ? Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength) : null,
      headers: {
        [DLQ_HEADER_REASON]: record.reason,
        [DLQ_HEADER_PARTITION]: String(partition),
        [DLQ_HEADER_OFFSET]: record.offset,
      },
    })),
  });
}
