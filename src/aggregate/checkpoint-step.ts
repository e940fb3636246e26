// The checkpoint step of docs/counting-rules.md ("Checkpoints"): a row describing every record
// since the previous checkpoint (offset range, chain head, Merkle root, digest of the tallies), put into the
// SAME write batch as the state it describes, so the row is durable exactly when that state is.
// PostgreSQL gets the row only after that write (checkpoint-sink.ts, on the main thread); a row
// stays pending in the store (c:<offset>) until PostgreSQL confirms it, and is re-inserted at
// start-up otherwise.
import { MerkleAccumulator } from '../merkle-tree.js';
import { talliesDigest } from '../partition-tally.js';
import { KEY_CHECKPOINT_FROM, KEY_MERKLE, checkpointKey, type StoreWriteBatch } from './partition-store.js';
import type { PartitionState } from './partition-state.js';
import type { CheckpointRow } from './worker-messages.js';

/** True when the records since the previous checkpoint, up to `lastOffset`, reach `every`. */
export function checkpointDue(state: PartitionState, lastOffset: number, every: number): boolean {
  return lastOffset - state.checkpointFrom + 1 >= every;
}

/**
 * The row for [checkpointFrom, lastOffset] of the state as it is now (the state must have applied
 * `lastOffset`); puts the row and the next checkpoint's first offset into `batch`.
 */
export function takeCheckpoint(state: PartitionState, topic: string, partition: number, lastOffset: number, batch: StoreWriteBatch): CheckpointRow {
  const row: CheckpointRow = {
    topic,
    partition,
    firstOffset: String(state.checkpointFrom),
    lastOffset: String(lastOffset),
    records: String(lastOffset - state.checkpointFrom + 1),
    chainHead: state.head.toString('hex'),
    talliesDigest: talliesDigest([...state.surveys].map(([surveyId, tally]) => ({ surveyId, ...tally }))),
    merkleRoot: state.merkle === null ? null : state.merkle.root().toString('hex'),
  };
  state.checkpointFrom = lastOffset + 1;
  if (state.merkle === null) state.merkle = new MerkleAccumulator();
  else state.merkle.clear();
  batch.put(checkpointKey(lastOffset), JSON.stringify(row));
  batch.put(KEY_CHECKPOINT_FROM, String(state.checkpointFrom));
  batch.put(KEY_MERKLE, state.merkle.serialize());
  return row;
}

/** The rows are in PostgreSQL: forget them (deletes go into `batch`). */
export function confirmCheckpoints(state: PartitionState, lastOffsets: readonly string[], batch: StoreWriteBatch): void {
  for (const lastOffset of lastOffsets) {
    if (state.pendingCheckpoints.delete(lastOffset)) batch.del(checkpointKey(Number(lastOffset)));
  }
}
