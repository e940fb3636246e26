// The checkpoint's merkle_root (docs/counting-rules.md "Merkle root"): the aggregator's root over
// first_offset … last_offset equals one computed here from the raw records, whatever the batch
// boundaries, across reopens of the store, for null and invalid values, and on graceful shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { VoteCast } from '../../src/vote-codec.js';
import type { CheckpointRow } from '../../src/aggregate/worker-messages.js';
import { MemoryPartitionStore } from '../../src/aggregate/memory-partition-store.js';
import { MerkleLeaves } from '../../src/verify/merkle-leaves.js';
import { ProcessorDriver, offlineCodec, type DriverRecord } from './support/processor-driver.js';

const codec = offlineCodec();
const surveyId = 'merkle-survey';

function log(n: number): DriverRecord[] {
  return Array.from({ length: n }, (_, offset) => ({
    offset,
    key: Buffer.from(surveyId),
    value:
      offset % 7 === 3
        ? null
        : offset % 11 === 5
          ? Buffer.from('not a vote')
          : codec.encode({ voteId: `v${offset}`, surveyId, voterId: `voter-${offset % 5}`, answers: { q: [`o${offset % 3}`] }, region: null, castAt: 1_700_000_000_000 } satisfies VoteCast),
  }));
}

/** RFC 6962 written out again: leaf = H(0 || int64 offset || value), node = H(1 || l || r). */
function expectedRoot(records: DriverRecord[]): string {
  const h = (...parts: Buffer[]) => parts.reduce((hash, part) => hash.update(part), createHash('sha256')).digest();
  const leaf = (r: DriverRecord) => {
    const offset = Buffer.alloc(8);
    offset.writeBigInt64BE(BigInt(r.offset));
    return h(Buffer.from([0]), offset, r.value ?? Buffer.alloc(0));
  };
  const mth = (leaves: Buffer[]): Buffer => {
    if (leaves.length === 1) return leaves[0]!;
    let k = 1;
    while (k * 2 < leaves.length) k *= 2;
    return h(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
  };
  return mth(records.map(leaf)).toString('hex');
}

function rangeOf(records: DriverRecord[], row: CheckpointRow): DriverRecord[] {
  return records.filter((r) => r.offset >= Number(row.firstOffset) && r.offset <= Number(row.lastOffset));
}

test('each checkpoint carries the RFC 6962 root of its records, across batches and reopens', async () => {
  const records = log(40);
  let driver = await ProcessorDriver.open({ checkpointEvery: 7 });
  const rows: CheckpointRow[] = [];
  for (let from = 0; from < records.length; from += 3) {
    const result = await driver.send(records.slice(from, from + 3));
    if (result.kind === 'written' && result.checkpoint) rows.push(result.checkpoint);
    if (from % 9 === 0) driver = await driver.reopen(); // the accumulator comes back from the store
  }
  const last = await driver.processor.checkpointNow();
  assert.ok(last, 'graceful shutdown checkpoints the rest');
  rows.push(last);
  assert.ok(rows.length >= 5);
  assert.equal(rows[0]!.firstOffset, '0');
  assert.equal(rows.at(-1)!.lastOffset, '39');
  for (const row of rows) assert.equal(row.merkleRoot, expectedRoot(rangeOf(records, row)), `checkpoint ${row.firstOffset}..${row.lastOffset}`);

  // A replay from scratch in other batch sizes gives the same roots where the ranges agree.
  const replay = await ProcessorDriver.open({ checkpointEvery: 7 });
  for (let from = 0; from < records.length; from += 5) {
    const result = await replay.send(records.slice(from, from + 5));
    if (result.kind === 'written' && result.checkpoint) assert.equal(result.checkpoint.merkleRoot, expectedRoot(rangeOf(records, result.checkpoint)));
  }
});

test('a store written before merkle roots, with records pending, gives that one checkpoint a null root, the next a real one', async () => {
  const records = log(12);
  const driver = await ProcessorDriver.open({ checkpointEvery: 6 });
  await driver.send(records.slice(0, 3));
  (driver.store as MemoryPartitionStore).data.delete('m:merkle');
  const old = await driver.reopen();
  const first = await old.send(records.slice(3, 6));
  assert.ok(first.kind === 'written' && first.checkpoint);
  assert.equal(first.checkpoint.merkleRoot, null);
  const second = await old.send(records.slice(6, 12));
  assert.ok(second.kind === 'written' && second.checkpoint);
  assert.equal(second.checkpoint.merkleRoot, expectedRoot(records.slice(6, 12)));
});

test("the verifier's leaves: roots of any kept range, nothing below what was dropped", () => {
  const records = log(3000);
  const leaves = new MerkleLeaves(10);
  for (const r of records) leaves.add(r.offset, r.value);
  assert.equal(leaves.root(0, 20), null, 'records below 10 were never kept');
  assert.equal(leaves.root(10, 2999)!.toString('hex'), expectedRoot(records.slice(10)));
  leaves.dropBelow(2000);
  assert.equal(leaves.root(1500, 2100), null);
  assert.equal(leaves.root(2000, 2100)!.toString('hex'), expectedRoot(records.slice(2000, 2101)));
  assert.equal(new MerkleLeaves(Infinity).root(0, 1), null);
});
