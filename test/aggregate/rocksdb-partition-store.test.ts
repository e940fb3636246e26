// The RocksDB store's write batch counts its own puts and deletes: the binding's chained batch has
// no `length`, and a batch reporting none was never written by confirmCheckpoints, so confirmed
// checkpoint rows stayed pending in RocksDB and were inserted again at every open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VoteCast } from '../../src/vote-codec.js';
import { RocksDBPartitionStore } from '../../src/aggregate/rocksdb-partition-store.js';
import { ProcessorDriver, offlineCodec } from './support/processor-driver.js';

test('a write batch counts its puts and deletes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-rocksdb-store-'));
  const store = await RocksDBPartitionStore.open(dir);
  try {
    const batch = store.batch();
    assert.equal(batch.length, 0);
    batch.put('a', '1');
    batch.del('b');
    assert.equal(batch.length, 2);
    await batch.write(true);
    assert.deepEqual(await store.getMany(['a', 'b']), ['1', undefined]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a confirmed checkpoint row is deleted from RocksDB: not pending after a reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-rocksdb-store-'));
  const codec = offlineCodec();
  const surveyId = 'store-survey';
  const vote = (voterId: string): VoteCast => ({ voteId: voterId, surveyId, voterId, answers: { q1: ['o1'] }, region: null, castAt: 1_700_000_000_000 });
  try {
    let driver = await ProcessorDriver.open({ checkpointEvery: 2, store: await RocksDBPartitionStore.open(dir) });
    const written = await driver.send(['a', 'b'].map((voter, offset) => ({ offset, key: Buffer.from(surveyId), value: codec.encode(vote(voter)) })));
    assert.ok(written.kind === 'written' && written.checkpoint, 'two records with checkpointEvery 2: a checkpoint row');
    assert.equal(driver.processor.pendingCheckpointRows().length, 1);
    await driver.processor.confirmCheckpoints([written.checkpoint.lastOffset]);
    await driver.processor.close();
    driver = await ProcessorDriver.open({ checkpointEvery: 2, store: await RocksDBPartitionStore.open(dir) });
    assert.deepEqual(driver.processor.pendingCheckpointRows(), [], 'the row PostgreSQL confirmed is not inserted again');
    await driver.processor.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
