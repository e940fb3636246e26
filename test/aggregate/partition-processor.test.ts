// The batch path of one partition without Kafka or Redis (processor-driver.ts): redelivered records
// are skipped, a batch starting past the stored offset is refused, one-vote rules hold across
// batches, every batch is one synced write with its position, a reopened partition continues from
// its stored state (in memory, and in a real RocksDB directory), and a partial is published after
// each write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VoteCast } from '../../src/vote-codec.js';
import { MemoryPartitionStore } from '../../src/aggregate/memory-partition-store.js';
import { RocksDBPartitionStore } from '../../src/aggregate/rocksdb-partition-store.js';
import { ProcessorDriver, offlineCodec, type DriverRecord } from './support/processor-driver.js';

const surveyId = 'processor-survey';
const codec = offlineCodec();

function records(from: number, votes: Array<[voter: string, question: string, option: string]>): DriverRecord[] {
  return votes.map(([voterId, question, option], i) => ({
    offset: from + i,
    key: Buffer.from(surveyId),
    value: codec.encode({ voteId: `v${from + i}`, surveyId, voterId, answers: { [question]: [option] }, region: 'EU', castAt: 1_700_000_000_000 } satisfies VoteCast),
  }));
}

async function skipsRefusesCountsReopens(open: () => Promise<ProcessorDriver>, reopen: (driver: ProcessorDriver) => Promise<ProcessorDriver>): Promise<ProcessorDriver> {
  let driver = await open();
  const first = records(0, [['a', 'q1', 'o1'], ['b', 'q1', 'o2'], ['a', 'q1', 'o2']]);
  const written = await driver.send(first);
  assert.equal(written.kind, 'written');
  assert.deepEqual(written.kind === 'written' && written.outcomes, { accepted: 2, duplicate: 1, invalid: 0 });

  // The same records again (Kafka redelivery): nothing happens.
  assert.deepEqual(await driver.send(first), { kind: 'skipped', nextOffset: '3' });
  // A batch that starts past the stored offset is refused, so the consumer can seek back.
  assert.deepEqual(await driver.send(records(5, [['c', 'q1', 'o1']])), { kind: 'gap', nextOffset: '3' });

  // Overlapping redelivery: offsets 1..4, of which only 3 and 4 are new.
  const overlap = [...first.slice(1), ...records(3, [['b', 'q2', 'o1'], ['c', 'q1', 'o1']])];
  const second = await driver.send(overlap);
  assert.deepEqual(second.kind === 'written' && { outcomes: second.outcomes, records: second.records }, { outcomes: { accepted: 2, duplicate: 0, invalid: 0 }, records: 2 });
  assert.ok(second.kind === 'written' && second.checkpoint, 'five records with checkpointEvery 4: a checkpoint');
  assert.equal(second.kind === 'written' && second.checkpoint!.records, '5');

  driver = await reopen(driver);
  const { processor } = driver;
  assert.equal(processor.nextOffset, 5);
  assert.deepEqual(processor.outcomeCounts(), { accepted: 4, duplicate: 1, invalid: 0 });
  assert.deepEqual(processor.surveyTallies().get(surveyId), {
    responses: 3,
    votes: { q1: { o1: 2, o2: 1 }, q2: { o1: 1 } },
    regions: { EU: { responses: 3, votes: { q1: { o1: 2, o2: 1 }, q2: { o1: 1 } } } },
    lastCastAt: 1_700_000_000_000,
  });
  assert.equal(processor.pendingCheckpointRows().length, 1, 'not confirmed yet: re-inserted at start-up');
  // A voter seen before the reopen is still a duplicate (read from the store, not from memory).
  const third = await driver.send(records(5, [['a', 'q1', 'o1']]));
  assert.deepEqual(third.kind === 'written' && third.outcomes, { accepted: 0, duplicate: 1, invalid: 0 });
  return driver;
}

test('in memory: skips redelivered records, refuses gaps, counts each voter once, reopens where it stopped', async () => {
  const driver = await skipsRefusesCountsReopens(
    () => ProcessorDriver.open({ checkpointEvery: 4 }),
    (d) => d.reopen(),
  );
  const partial = driver.publisher.partial(surveyId, 0)!;
  assert.equal(partial.nextOffset, '5', 'the newest partial is the one of the last batch that changed the survey');
  assert.equal(partial.responses, 3);
  const store = driver.store as MemoryPartitionStore;
  assert.equal(store.data.get('m:next'), '6', 'the duplicate-only batch still moved the stored position');
});

test('in RocksDB: the same, across a close and a reopen of the directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-processor-'));
  try {
    const driver = await skipsRefusesCountsReopens(
      async () => ProcessorDriver.open({ checkpointEvery: 4, store: await RocksDBPartitionStore.open(dir) }),
      async (d) => {
        await d.processor.close();
        return ProcessorDriver.open({ checkpointEvery: 4, store: await RocksDBPartitionStore.open(dir), publisher: d.publisher });
      },
    );
    await driver.processor.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one synced write per batch, holding the state and the position together', async () => {
  const driver = await ProcessorDriver.open();
  const store = driver.store as MemoryPartitionStore;
  await driver.send(records(0, [['a', 'q1', 'o1'], ['b', 'q1', 'o1']]));
  await driver.send([...records(2, [['c', 'q1', 'o1']]), { offset: 3, key: Buffer.from(surveyId), value: null }]);
  assert.equal(store.syncedWrites, 2);
  assert.equal(store.writes, 2);
  assert.equal(driver.dlq.length, 1, 'the null value went to the DLQ before the write that moved past it');
  assert.equal(driver.dlq[0]!.offset, '3');
  assert.equal(store.data.get('m:next'), '4');
  assert.deepEqual(JSON.parse(store.data.get('m:outcomes')!), { accepted: 3, duplicate: 0, invalid: 1 });
});
