// Issue 13, defect 2: a fetch of up to 2 MB of invalid records became ONE DLQ send; above the DLQ
// topic's max.message.bytes the broker refused it and the partition retried it forever. The entries
// now go out in sends under the limit, in order, none lost; one entry too big on its own is cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, Producer, ProducerRecord } from 'kafkajs';
import { DLQ_HEADER_OFFSET, DLQ_HEADER_TRUNCATED, dlqSendLimit, dlqSends, produceToDlq } from '../../src/aggregate/dlq-producer.js';
import type { DlqRecord } from '../../src/aggregate/worker-messages.js';

const record = (offset: number, bytes: number): DlqRecord => ({ offset: String(offset), key: Buffer.from('survey-1'), value: Buffer.alloc(bytes, offset % 251), reason: 'unknown writer schema id 4242 (not in the registry)' });

/** What a send weighs on the wire, generously: every key, value and header byte. */
const weight = (messages: Message[]) =>
  messages.reduce((sum, m) => sum + (m.key as Buffer).length + ((m.value as Buffer | null)?.length ?? 0) + Object.entries(m.headers ?? {}).reduce((h, [k, v]) => h + k.length + String(v).length, 0), 0);

test('2 MB of invalid records under a 256 KiB topic limit: several sends, each under it, every entry once and in order', async () => {
  const limit = dlqSendLimit(256 * 1024);
  const records = Array.from({ length: 400 }, (_, i) => record(1000 + i, 5000));
  const sent: ProducerRecord[] = [];
  const producer = { send: async (batch: ProducerRecord) => void sent.push(batch) } as unknown as Producer;
  await produceToDlq(producer, 'votes.dlq', 3, records, limit);
  assert.ok(sent.length >= 8, `${sent.length} sends`);
  for (const send of sent) {
    assert.equal(send.acks, -1);
    assert.ok(weight(send.messages) <= 256 * 1024, `a send of ${weight(send.messages)} bytes`);
  }
  const offsets = sent.flatMap((send) => send.messages.map((m) => m.headers![DLQ_HEADER_OFFSET]));
  assert.deepEqual(offsets, records.map((r) => r.offset));
});

test('a few small entries stay one send', () => {
  assert.equal(dlqSends(0, [record(1, 10), record(2, 10)], dlqSendLimit(1_048_588)).length, 1);
});

test('an entry larger than the limit on its own is cut, and says its original length', () => {
  const limit = dlqSendLimit(64 * 1024);
  const sends = dlqSends(0, [record(1, 10), record(2, 200_000), record(3, 10)], limit);
  assert.equal(sends.length, 3);
  const cut = sends[1]![0]!;
  assert.equal(cut.headers![DLQ_HEADER_TRUNCATED], '200000');
  assert.ok(weight([cut]) <= limit);
  assert.equal(sends[2]![0]!.headers![DLQ_HEADER_TRUNCATED], undefined);
});
