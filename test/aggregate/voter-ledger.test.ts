// The one-vote ledger kept in memory across batches (voter-ledger.ts): a partition whose store had
// no state counts voters without reading the store; one opened on existing state reads the voters
// memory does not hold; after an eviction, memory is no longer complete and the evicted voters are
// read back from the store (never counted twice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPartitionStore } from '../../src/aggregate/memory-partition-store.js';
import { voterKey } from '../../src/aggregate/partition-store.js';
import { VoterLedger } from '../../src/aggregate/voter-ledger.js';

/** A memory store that counts the keys it was asked for. */
class CountingStore extends MemoryPartitionStore {
  keysRead = 0;
  override async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    this.keysRead += keys.length;
    return super.getMany(keys);
  }
}

/** One batch as the processor runs it: want, load when needed, count (first vote of a voter answers q1), write. */
async function batch(ledger: VoterLedger, store: CountingStore, voters: string[]): Promise<{ accepted: number; duplicate: number }> {
  let ready = true;
  for (const voter of voters) ready = ledger.want('S', voter) && ready;
  if (!ready) await ledger.load(store);
  let accepted = 0;
  for (const voter of voters) {
    if (ledger.answered('S', voter)?.includes('q1')) continue;
    ledger.set('S', voter, ['q1']);
    accepted++;
  }
  const write = store.batch();
  ledger.writeChanges(write);
  ledger.endBatch();
  await write.write(true);
  return { accepted, duplicate: voters.length - accepted };
}

test('complete (a store with no state): voters are counted without reading the store', async () => {
  const store = new CountingStore();
  const ledger = new VoterLedger(true);
  assert.deepEqual(await batch(ledger, store, ['a', 'b', 'a']), { accepted: 2, duplicate: 1 });
  assert.deepEqual(await batch(ledger, store, ['b', 'c']), { accepted: 1, duplicate: 1 });
  assert.equal(store.keysRead, 0);
  assert.equal(store.data.get(voterKey('S', 'c')), '["q1"]', 'every changed voter is written');
});

test('opened on existing state: voters memory does not hold are read, once', async () => {
  const store = new CountingStore(new Map([[voterKey('S', 'a'), '["q1"]']]));
  const ledger = new VoterLedger(false);
  assert.equal(ledger.want('S', 'a'), false, 'a voter memory does not know waits for the store');
  assert.deepEqual(await batch(ledger, store, ['a', 'b']), { accepted: 1, duplicate: 1 });
  assert.equal(store.keysRead, 2);
  assert.deepEqual(await batch(ledger, store, ['a', 'b']), { accepted: 0, duplicate: 2 });
  assert.equal(store.keysRead, 2, 'known voters are not read again');
});

test('past its capacity the ledger drops its old voters and reads them back from the store', async () => {
  const store = new CountingStore();
  const ledger = new VoterLedger(true, 4);
  await batch(ledger, store, ['a', 'b']);
  assert.equal(ledger.isComplete, false, 'the young generation (2 voters) is full: the old one is dropped at the end of the batch');
  await batch(ledger, store, ['c', 'd']);
  assert.equal(store.keysRead, 2, 'c and d are not in memory and memory is no longer complete: read (absent)');
  // a and b were in the generation dropped after c and d: read back from the store, still duplicates
  assert.deepEqual(await batch(ledger, store, ['a', 'b', 'e']), { accepted: 1, duplicate: 2 });
  assert.equal(store.keysRead, 5);
  assert.ok(ledger.size <= 4 + 3, `memory stays bounded (${ledger.size} voters)`);
});

test('a batch never drops a voter it counted: eviction waits for the end of the batch', async () => {
  const store = new CountingStore();
  const ledger = new VoterLedger(true, 2);
  // far more voters than the capacity in one batch, each twice: the second vote is a duplicate
  const voters = Array.from({ length: 50 }, (_, i) => `v${i}`);
  assert.deepEqual(await batch(ledger, store, [...voters, ...voters]), { accepted: 50, duplicate: 50 });
});
