// Issue 13, defect 6: minute buckets were never pruned (every open loaded them all) and a vote with a
// future castAt emptied the window for good. Now (docs/counting-rules.md) a survey keeps the 60
// minutes ending at its newest bucket, in memory AND in the store, and castAt is clamped to the
// record's Kafka timestamp. The conformance table holds the verifier to the same rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VoteCast } from '../../src/vote-codec.js';
import { MemoryPartitionStore } from '../../src/aggregate/memory-partition-store.js';
import { PREFIX_MINUTE, minuteKey } from '../../src/aggregate/partition-store.js';
import { ProcessorDriver, offlineCodec, type DriverRecord } from './support/processor-driver.js';

const codec = offlineCodec();
const MINUTE = 60_000;
const M = 28_000_000; // an epoch minute
const at = (minute: number) => minute * MINUTE;

function vote(offset: number, voterId: string, castAt: number, timestamp?: number): DriverRecord {
  const value = codec.encode({ voteId: `v${offset}`, surveyId: 'S', voterId, answers: { q1: ['a'] }, region: null, castAt } satisfies VoteCast);
  return { offset, key: Buffer.from('S'), value, ...(timestamp === undefined ? {} : { timestamp }) };
}

const storedMinutes = (store: MemoryPartitionStore) => [...store.data.keys()].filter((key) => key.startsWith(PREFIX_MINUTE)).sort();

test('buckets that fall out of the window are deleted from the store, and not loaded again', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send([vote(0, 'a', at(M)), vote(1, 'b', at(M + 10))]);
  const store = driver.store as MemoryPartitionStore;
  assert.deepEqual(storedMinutes(store), [minuteKey('S', M), minuteKey('S', M + 10)].sort());
  await driver.send([vote(2, 'c', at(M + 65))]);
  assert.deepEqual(storedMinutes(store), [minuteKey('S', M + 10), minuteKey('S', M + 65)].sort(), 'minute M dropped: more than 60 minutes before M + 65');
  assert.deepEqual(driver.publisher.partial('S', 0)!.minutes, { [M + 10]: 1, [M + 65]: 1 });

  const reopened = await driver.reopen();
  assert.deepEqual([...reopened.processor.state.minutes.get('S')!.counts.keys()].sort(), [M + 10, M + 65]);
});

test('a store written before pruning: stale buckets are not loaded and are deleted with the next write', async () => {
  const data = new Map<string, string>([
    ['m:next', '5'],
    [minuteKey('S', M), '3'],
    [minuteKey('S', M + 100), '2'],
    [minuteKey('S', M + 20), '1'],
  ]);
  const driver = await ProcessorDriver.open({ data });
  assert.deepEqual([...driver.processor.state.minutes.get('S')!.counts.keys()], [M + 100]);
  await driver.send([vote(5, 'z', at(M + 101))]);
  assert.deepEqual(storedMinutes(driver.store as MemoryPartitionStore), [minuteKey('S', M + 100), minuteKey('S', M + 101)].sort());
});

test('a castAt a week in the future counts in its record timestamp\'s minute and leaves the window where it was', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send([vote(0, 'a', at(M), at(M) + 500), vote(1, 'b', at(M + 7 * 24 * 60), at(M + 1) + 5)]);
  await driver.send([vote(2, 'c', at(M + 2) + 1, at(M + 2) + 10)]);
  const partial = driver.publisher.partial('S', 0)!;
  assert.deepEqual(partial.minutes, { [M]: 1, [M + 1]: 1, [M + 2]: 1 }, 'nothing emptied: the window ends at M + 2');
  assert.equal(partial.lastCastAt, at(M + 2) + 1);
});
