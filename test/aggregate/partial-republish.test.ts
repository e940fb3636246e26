// Issue 13, defect 1: a durable write whose Redis publish was lost (kill -9 between the two, a Redis
// error) and a Redis that lost its data (restart with --save "", FLUSHDB) must not leave a partial
// stale. The partition republishes every survey when it is opened, and whenever the publisher's
// status is missing or behind its store (refreshPartials). Broker-free: processor-driver.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VoteCast } from '../../src/vote-codec.js';
import { ProcessorDriver, offlineCodec, type DriverRecord } from './support/processor-driver.js';

const codec = offlineCodec();

function votes(from: number, list: Array<[survey: string, voter: string]>): DriverRecord[] {
  return list.map(([surveyId, voterId], i) => ({
    offset: from + i,
    key: Buffer.from(surveyId),
    value: codec.encode({ voteId: `v${from + i}`, surveyId, voterId, answers: { q1: ['o1'] }, region: null, castAt: 1_700_000_000_000 } satisfies VoteCast),
  }));
}

test('a durable write whose publish was lost: the reopened partition republishes the current partial', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send(votes(0, [['S', 'a']]));
  assert.equal(driver.publisher.partial('S', 0)!.responses, 1);

  // The write of offset 1 lands; its publish is lost (Redis error, or kill -9 right after the fsync).
  driver.publisher.failNext = new Error('Redis connection lost');
  await assert.rejects(driver.send(votes(1, [['S', 'b']])), /Redis connection lost/);
  assert.equal(driver.publisher.partial('S', 0)!.responses, 1, 'the partial is behind the store now');

  // The partition is opened again (reopen after the failure, or the restarted process).
  const reopened = await driver.reopen();
  assert.equal(reopened.processor.nextOffset, 2, 'the write was durable: records below 2 are skipped');
  const partial = reopened.publisher.partial('S', 0)!;
  assert.equal(partial.nextOffset, '2');
  assert.equal(partial.responses, 2, 'the partial is current without another vote for the survey');
  assert.equal(reopened.processor.partialsBehind, 0);
});

test('a publish that fails at open is retried by refreshPartials', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send(votes(0, [['S', 'a'], ['T', 'a']]));
  driver.publisher.clear();
  driver.publisher.failNext = new Error('Redis down');
  const reopened = await driver.reopen();
  assert.equal(reopened.publisher.partial('S', 0), undefined);
  assert.equal(reopened.processor.partialsBehind, 2, 'both records are durable but not known to be published');
  assert.equal(await reopened.processor.refreshPartials(), 2);
  assert.equal(reopened.publisher.partial('S', 0)!.responses, 1);
  assert.equal(reopened.publisher.partial('T', 0)!.responses, 1);
  assert.equal(reopened.processor.partialsBehind, 0);
});

test('Redis emptied while running (FLUSHDB, restart without persistence): every survey of the partition comes back', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send(votes(0, [['S', 'a'], ['T', 'a'], ['U', 'a']]));
  await driver.send(votes(3, [['S', 'b']]));
  assert.equal(await driver.processor.refreshPartials(), 0, 'nothing to repair: the status matches the store');
  const publishes = driver.publisher.publishes;
  assert.equal(await driver.processor.refreshPartials(), 0);
  assert.equal(driver.publisher.publishes, publishes, 'a check that finds Redis current publishes nothing');

  driver.publisher.clear();
  assert.equal(await driver.processor.refreshPartials(), 4, 'the status was gone: the partials were behind by the whole store');
  for (const surveyId of ['S', 'T', 'U']) assert.equal(driver.publisher.partial(surveyId, 0)?.nextOffset, '4', `survey ${surveyId} republished at the stored position`);
  assert.equal(driver.publisher.partial('S', 0)!.responses, 2);
});

test('a Redis restored behind the store (an old snapshot): republished at the stored position', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send(votes(0, [['S', 'a']]));
  const old = structuredClone(driver.publisher.partial('S', 0)!);
  const oldStatus = { ...driver.publisher.statuses.get(0)! };
  await driver.send(votes(1, [['S', 'b'], ['T', 'c']]));
  driver.publisher.clear();
  driver.publisher.partials.set('S', new Map([[0, old]]));
  driver.publisher.statuses.set(0, oldStatus);
  assert.equal(await driver.processor.refreshPartials(), 2);
  assert.equal(driver.publisher.partial('S', 0)!.responses, 2);
  assert.equal(driver.publisher.partial('T', 0)!.responses, 1);
});

test('after a failed publish, the next batch republishes every survey, not only the ones it changed', async () => {
  const driver = await ProcessorDriver.open();
  await driver.send(votes(0, [['S', 'a']]));
  // The publish of T's vote is lost but the processor stays open (the main thread's view: the
  // worker closes it; here we keep it to check the rule of commitHeld itself).
  driver.publisher.failNext = new Error('Redis error');
  await assert.rejects(driver.send(votes(1, [['T', 'a']])));
  await driver.send(votes(2, [['S', 'b']]));
  assert.equal(driver.publisher.partial('T', 0)?.responses, 1, 'T was republished with the next batch');
  assert.equal(driver.processor.partialsBehind, 0);
});
