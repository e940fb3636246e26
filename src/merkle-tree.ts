// The Merkle tree of a checkpoint (docs/counting-rules.md "Merkle root"): RFC 6962 §2.1 (RFC 9162
// §2.1) over the records first_offset … last_offset of one partition, in offset order.
//
//   leaf(o, v)  = SHA-256( 0x00 || o as 8-byte big-endian signed int64 || v )   (null v: no bytes)
//   node(l, r)  = SHA-256( 0x01 || l || r )
//   MTH({d0})   = leaf(d0)
//   MTH(D[n])   = node( MTH(D[0:k]), MTH(D[k:n]) ),  k = the largest power of two < n
//
// The aggregator builds the root incrementally while it counts (MerkleAccumulator: O(log n) hashes
// kept, so a pending checkpoint survives a crash in a few bytes of its state); ingest builds audit
// paths from the leaves it reads back from the log; `tally verify` and `tally verify-receipt`
// recompute roots and check paths.
import { hash } from 'node:crypto';

export const HASH_BYTES = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer') as unknown as Buffer;
}

let leafScratch = Buffer.alloc(4096);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_BYTES);

/** Writes 0x00 || offset (int64 BE) into `into` at `at` (9 bytes). `offset` < 2^53. */
export function writeLeafPrefix(into: Buffer, at: number, offset: number): void {
  into[at] = LEAF_PREFIX;
  into.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), at + 1);
  into.writeUInt32BE(offset >>> 0, at + 5);
}

/** Bytes of the leaf prefix 0x00 || int64 offset. */
export const LEAF_PREFIX_BYTES = 9;

/** leaf(offset, value) = SHA-256(0x00 || int64 BE offset || value). */
export function merkleLeafHash(offset: number, value: Uint8Array | null): Buffer {
  const length = LEAF_PREFIX_BYTES + (value === null ? 0 : value.length);
  if (length > leafScratch.length) leafScratch = Buffer.alloc(Math.max(length, leafScratch.length * 2));
  writeLeafPrefix(leafScratch, 0, offset);
  if (value !== null) leafScratch.set(value, LEAF_PREFIX_BYTES);
  return sha256(leafScratch.subarray(0, length));
}

/** node(left, right) = SHA-256(0x01 || left || right). */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch[0] = NODE_PREFIX;
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_BYTES);
  return sha256(nodeScratch);
}

/** The largest power of two smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes [from, to). The empty tree is SHA-256 of nothing (RFC 6962 §2.1). */
export function merkleTreeHash(leaves: readonly Uint8Array[], from = 0, to = leaves.length): Buffer {
  const n = to - from;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return Buffer.from(leaves[from]!);
  const k = splitPoint(n);
  return merkleNodeHash(merkleTreeHash(leaves, from, from + k), merkleTreeHash(leaves, from + k, to));
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1: the audit path of leaf `index`, from the leaf up to the root. */
export function merkleAuditPath(leaves: readonly Uint8Array[], index: number, from = 0, to = leaves.length): Buffer[] {
  const n = to - from;
  if (index < 0 || index >= n) throw new RangeError(`leaf ${index} is not in a tree of ${n}`);
  if (n === 1) return [];
  const k = splitPoint(n);
  if (index < k) return [...merkleAuditPath(leaves, index, from, from + k), merkleTreeHash(leaves, from + k, to)];
  return [...merkleAuditPath(leaves, index - k, from + k, to), merkleTreeHash(leaves, from, from + k)];
}

/**
 * The root an audit path leads to (RFC 9162 §2.1.3.2), or null when the path cannot belong to leaf
 * `index` of a tree of `size` leaves (wrong length). Compare the result with the published root.
 */
export function merkleRootFromPath(index: number, size: number, leafHash: Uint8Array, path: readonly Uint8Array[]): Buffer | null {
  if (index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/**
 * The root of a growing tree, one leaf at a time, keeping only the roots of its perfect subtrees
 * (one per 1-bit of the size, largest first). The root of n leaves folds them right to left, which
 * is exactly MTH: the RFC split puts the largest perfect subtree on the left at every level.
 *
 * Hashes are kept as 32-character latin1 strings (one char per byte, lossless): Node's hash()
 * returns a string two to three times faster than a Buffer, and this is the aggregator's hot path.
 */
export class MerkleAccumulator {
  private stack: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(leafHash: Uint8Array): void {
    this.pushDigest(Buffer.from(leafHash).toString('latin1'));
  }

  /** `leaf` as `hash('sha256', …, 'latin1')` returns it. */
  pushDigest(leaf: string): void {
    let node = leaf;
    for (let n = this.count; n % 2 === 1; n = Math.floor(n / 2)) node = nodeDigest(this.stack.pop()!, node);
    this.stack.push(node);
    this.count += 1;
  }

  /** MTH of the leaves pushed so far (the empty tree's hash when none). */
  root(): Buffer {
    if (this.stack.length === 0) return merkleTreeHash([]);
    let root = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) root = nodeDigest(this.stack[i]!, root);
    return Buffer.from(root, 'latin1');
  }

  clear(): void {
    this.stack = [];
    this.count = 0;
  }

  /** `size:hex,hex,…` (a few hundred bytes at most), stored with the position it describes. */
  serialize(): string {
    return `${this.count}:${this.stack.map((node) => Buffer.from(node, 'latin1').toString('hex')).join(',')}`;
  }

  static parse(text: string): MerkleAccumulator {
    const accumulator = new MerkleAccumulator();
    const [size, nodes] = text.split(':') as [string, string];
    accumulator.count = Number(size);
    const hashes = nodes === '' ? [] : nodes.split(',').map((hex) => Buffer.from(hex, 'hex'));
    accumulator.stack = hashes.map((hash) => hash.toString('latin1'));
    let ones = 0;
    for (let n = accumulator.count; n > 0; n = Math.floor(n / 2)) ones += n % 2;
    if (!Number.isSafeInteger(accumulator.count) || ones !== hashes.length || hashes.some((hash) => hash.length !== HASH_BYTES)) {
      throw new Error(`not a Merkle accumulator: ${text.slice(0, 80)}`);
    }
    return accumulator;
  }
}

/** node(l, r) on latin1 digests, into a latin1 digest. */
function nodeDigest(left: string, right: string): string {
  nodeScratch[0] = NODE_PREFIX;
  nodeScratch.latin1Write(left, 1, HASH_BYTES);
  nodeScratch.latin1Write(right, 1 + HASH_BYTES, HASH_BYTES);
  return hash('sha256', nodeScratch, 'binary');
}

declare module 'node:buffer' {
  interface Buffer {
    /** Node's latin1 write without write()'s argument checks (also declared by the aggregator's reader). */
    latin1Write(text: string, offset: number, length: number): number;
  }
}
