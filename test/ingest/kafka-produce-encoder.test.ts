// Unit: the vote producer's Produce request encoder writes exactly kafkajs's bytes (v3 request, which
// v4..v7 reuse) for random batches — several topics and partitions, empty and large records, null
// keys, idempotent and transactional producers — and says which batches it leaves to kafkajs.
// kafkajs's own request module is loaded here directly, never installed over, so it is the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { encodeProduceRequest, isPlainBatch, type ProduceRequestArgs } from '../../src/ingest/kafka-produce-encoder.js';

const require = createRequire(import.meta.url);
const kafkajsRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: ProduceRequestArgs) => { encode(): Promise<{ buffer: Buffer }> };
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (bytes: Buffer) => number;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: number): { getHighBits(): number; getLowBits(): number } };

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const bytes = (random: (n: number) => number, length: number) => Buffer.from(Array.from({ length }, () => random(256)));
const LENGTHS = [0, 1, 63, 64, 127, 128, 150, 8191, 8192, 20_000];

function randomArgs(random: (n: number) => number): ProduceRequestArgs {
  const topics = 1 + random(2);
  return {
    acks: [-1, 1, 0][random(3)]!,
    timeout: 30_000,
    transactionalId: random(4) === 0 ? `tx-${random(1000)}` : null,
    // kafkajs's idempotent producer passes its id as a decimal string (InitProducerId decoded with toString)
    producerId: [undefined, Long.fromValue(2 ** 40 + random(1000)), String(random(1_000_000)), String(2 ** 40 + random(1000)), '-1'][random(5)],
    producerEpoch: random(5),
    topicData: Array.from({ length: topics }, (_, t) => ({
      topic: `votes-${t}-é`,
      partitions: Array.from({ length: 1 + random(4) }, (_, p) => ({
        partition: p,
        firstSequence: random(2) === 0 ? undefined : random(2 ** 31),
        messages: Array.from({ length: random(5) === 0 ? 1 + random(300) : 1 + random(8) }, () => ({
          key: random(6) === 0 ? null : bytes(random, random(40)),
          value: bytes(random, random(3) === 0 ? LENGTHS[random(LENGTHS.length)]! : 100 + random(100)),
          partition: p,
        })),
      })),
    })),
  };
}

test('the bytes equal kafkajs v3 request encoding for random plain batches', async () => {
  const realNow = Date.now;
  try {
    for (let seed = 1; seed <= 300; seed++) {
      const args = randomArgs(prng(seed));
      assert.ok(isPlainBatch(args));
      const now = 1_700_000_000_000 + seed;
      Date.now = () => now;
      const expected = (await kafkajsRequest(args).encode()).buffer;
      assert.deepEqual(encodeProduceRequest(args, crc32C, now), expected, `seed ${seed}`);
    }
  } finally {
    Date.now = realNow;
  }
});

test('batches with compression, record timestamps, headers or string values are left to kafkajs', () => {
  const message = { key: Buffer.from('k'), value: Buffer.from('v') };
  const args = (m: object, extra: object = {}): ProduceRequestArgs => ({ acks: -1, timeout: 1000, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ ...message, ...m }] }] }], ...extra });
  assert.equal(isPlainBatch(args({})), true);
  assert.equal(isPlainBatch(args({ headers: {} })), true);
  assert.equal(isPlainBatch(args({}, { compression: 1 })), false);
  assert.equal(isPlainBatch(args({ timestamp: 5 })), false);
  assert.equal(isPlainBatch(args({ headers: { h: 'x' } })), false);
  assert.equal(isPlainBatch(args({ value: 'text' })), false);
  assert.equal(isPlainBatch(args({ key: 'text' })), false);
});

test('kafkajs is importable beside it (the module paths it relies on exist in this kafkajs)', () => {
  assert.equal(typeof kafkajs.Kafka, 'function');
  assert.equal(typeof kafkajsRequest, 'function');
  assert.equal(typeof crc32C(Buffer.from('123456789')), 'number');
  assert.equal(crc32C(Buffer.from('123456789')), 0xe3069283); // CRC-32C check value
});
