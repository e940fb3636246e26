// Issue 13, defect 4: neither RocksDB nor Redis recorded which topic their offsets belong to, so a
// topic deleted and recreated under the same name silently lost votes (records below the stored
// offset skipped). The topic's Kafka id is now stored with the offsets (m:topic-id, the Redis
// status), and a partition whose stored id is another stops with TALLY_ERR_TOPIC_ID naming both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VoteCast } from '../../src/vote-codec.js';
import { isTallyError } from '../../src/errors.js';
import { MemoryPartialPublisher } from '../../src/aggregate/memory-partial-publisher.js';
import { MemoryPartitionStore } from '../../src/aggregate/memory-partition-store.js';
import { KEY_TOPIC_ID } from '../../src/aggregate/partition-store.js';
import { metadataRequest, topicIdFromResponse } from '../../src/topic-id.js';
import { ProcessorDriver, offlineCodec, type DriverRecord } from './support/processor-driver.js';

const codec = offlineCodec();
const votes = (from: number, n: number): DriverRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    offset: from + i,
    key: Buffer.from('S'),
    value: codec.encode({ voteId: `v${from + i}`, surveyId: 'S', voterId: `voter${from + i}`, answers: { q1: ['a'] }, region: null, castAt: 1_700_000_000_000 } satisfies VoteCast),
  }));

test('the topic id is written with the position, and a store of another topic id stops the partition naming both', async () => {
  const driver = await ProcessorDriver.open({ topicId: 'OLD-topic-id' });
  await driver.send(votes(0, 3));
  const store = driver.store as MemoryPartitionStore;
  assert.equal(store.data.get(KEY_TOPIC_ID), 'OLD-topic-id');
  assert.equal(driver.publisher.statuses.get(0)?.topicId, undefined, 'the in-memory publisher of the driver has no id');

  await assert.rejects(ProcessorDriver.open({ data: store.data, topicId: 'NEW-topic-id' }), (error) => {
    assert.ok(isTallyError(error, 'TALLY_ERR_TOPIC_ID'), String(error));
    assert.match(error.message, /RocksDB holds the state up to offset 3 of topic id OLD-topic-id, but the topic now has id NEW-topic-id/);
    return true;
  });
});

test('a store written before ids were kept adopts the id with its next write', async () => {
  const first = await ProcessorDriver.open();
  await first.send(votes(0, 2));
  const data = (first.store as MemoryPartitionStore).data;
  assert.equal(data.has(KEY_TOPIC_ID), false);
  const driver = await ProcessorDriver.open({ data, topicId: 'the-id' });
  await driver.send(votes(2, 1));
  assert.equal((driver.store as MemoryPartitionStore).data.get(KEY_TOPIC_ID), 'the-id');
});

test('a Redis status of another topic id stops the partition at open and at the periodic check', async () => {
  const oldPublisher = new MemoryPartialPublisher('old-aggregator', 'OLD-topic-id');
  const driver = await ProcessorDriver.open({ topicId: 'OLD-topic-id', publisher: oldPublisher });
  await driver.send(votes(0, 2));
  assert.equal(oldPublisher.statuses.get(0)?.topicId, 'OLD-topic-id');

  // A fresh store (new data dir) on the recreated topic, the old partials still in Redis.
  await assert.rejects(ProcessorDriver.open({ topicId: 'NEW-topic-id', publisher: oldPublisher }), (error) => {
    assert.ok(isTallyError(error, 'TALLY_ERR_TOPIC_ID'));
    assert.match(error.message, /Redis holds partials up to offset 2 of topic id OLD-topic-id \(written by old-aggregator\), but the topic now has id NEW-topic-id/);
    return true;
  });

  // Opened while Redis was empty; the old writer's status appears later.
  const publisher = new MemoryPartialPublisher('new', 'NEW-topic-id');
  const fresh = await ProcessorDriver.open({ topicId: 'NEW-topic-id', publisher });
  publisher.statuses.set(0, { instance: 'old-aggregator', nextOffset: '9', writtenAt: 0, topicId: 'OLD-topic-id' });
  await assert.rejects(fresh.processor.refreshPartials(), (error) => isTallyError(error, 'TALLY_ERR_TOPIC_ID'));
});

test('Metadata v12: the request names the topic; the topic id is read from an answer as Kafka prints it', () => {
  const request = metadataRequest('votes', 7, 'tally');
  assert.equal(request.readInt32BE(0), request.length - 4);
  assert.equal(request.readInt16BE(4), 3, 'api key Metadata');
  assert.equal(request.readInt16BE(6), 12, 'version 12');
  assert.ok(request.includes(Buffer.from('votes')));

  const id = Buffer.from('a1fd42c7fa6440658ecbb5f9f39ee4d5', 'hex');
  const answer = Buffer.concat([
    Buffer.from([0, 0, 0, 7, 0]), // correlation id, tagged fields
    Buffer.from([0, 0, 0, 0]), // throttle
    Buffer.from([2]), // one broker
    Buffer.from([0, 0, 0, 1, 10]), Buffer.from('127.0.0.1'), Buffer.from([0, 0, 0x23, 0x84, 0, 0]), // id, host, port 9092, rack null, tags
    Buffer.from([4]), Buffer.from('abc'), // cluster id
    Buffer.from([0, 0, 0, 1]), // controller
    Buffer.from([2, 0, 0, 6]), Buffer.from('votes'), id, // one topic: error 0, name, id
  ]);
  assert.equal(topicIdFromResponse(answer, 'votes'), id.toString('base64url'));
  const unknown = Buffer.concat([answer.subarray(0, answer.length - 24), Buffer.from([0, 3, 6]), Buffer.from('votes'), Buffer.alloc(16)]);
  assert.throws(() => topicIdFromResponse(unknown, 'votes'), /topic votes does not exist/);
});
