// The Merkle leaves `tally verify` keeps while it recounts a partition, so every checkpoint's
// merkle_root (docs/counting-rules.md "Merkle root") can be recomputed from the log when its probe
// fires: leaf hashes of the records from the lowest first_offset still to be checked, 32 bytes
// each, dropped as soon as no remaining checkpoint starts at or below them.
import { HASH_BYTES, merkleLeafHash, merkleTreeHash } from '../merkle-tree.js';

export class MerkleLeaves {
  private hashes = Buffer.alloc(HASH_BYTES * 1024);
  private offsets = new Float64Array(1024);
  private start = 0;
  private count = 0;

  /** Keeps leaves of records at or above `from` (Infinity: none). */
  constructor(private from: number) {}

  /** Records must come in increasing offset order. */
  add(offset: number, value: Buffer | null): void {
    if (offset < this.from) return;
    if (this.count === this.offsets.length) this.grow();
    const at = this.start + this.count;
    if (at === this.offsets.length) this.compact();
    const index = this.start + this.count;
    merkleLeafHash(offset, value).copy(this.hashes, index * HASH_BYTES);
    this.offsets[index] = offset;
    this.count += 1;
  }

  /** MTH of the kept records firstOffset … lastOffset; null when records below it were not kept or none is in the range. */
  root(firstOffset: number, lastOffset: number): Buffer | null {
    if (firstOffset < this.from) return null;
    const leaves: Buffer[] = [];
    for (let i = this.start; i < this.start + this.count; i++) {
      const offset = this.offsets[i]!;
      if (offset > lastOffset) break;
      if (offset >= firstOffset) leaves.push(this.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    }
    return leaves.length === 0 ? null : merkleTreeHash(leaves);
  }

  /** Forgets the leaves below `offset` (no checkpoint left to check starts there). */
  dropBelow(offset: number): void {
    this.from = Math.max(this.from, offset);
    while (this.count > 0 && this.offsets[this.start]! < this.from) {
      this.start += 1;
      this.count -= 1;
    }
  }

  private compact(): void {
    this.hashes.copy(this.hashes, 0, this.start * HASH_BYTES, (this.start + this.count) * HASH_BYTES);
    this.offsets.copyWithin(0, this.start, this.start + this.count);
    this.start = 0;
  }

  private grow(): void {
    this.compact();
    const hashes = Buffer.alloc(this.hashes.length * 2);
    this.hashes.copy(hashes);
    const offsets = new Float64Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.hashes = hashes;
    this.offsets = offsets;
  }
}
