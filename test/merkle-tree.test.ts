import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MerkleAccumulator, merkleAuditPath, merkleLeafHash, merkleNodeHash, merkleRootFromPath, merkleTreeHash } from '../src/merkle-tree.js';

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
};

// The leaves and roots of the Certificate Transparency test vectors (RFC 6962 leaves hashed as
// SHA-256(0x00 || data)), for tree sizes 1..8.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const ctLeafHashes = CT_LEAVES.map((hex) => sha(Buffer.from([0]), Buffer.from(hex, 'hex')));

/** Spec-literal MTH, written separately from the module under test. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k << 1 < leaves.length) k <<= 1;
  return sha(Buffer.from([1]), referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

const leavesOf = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => merkleLeafHash(1000 + i, Buffer.from(`vote ${i}`)));

test('leaf = SHA-256(0x00 || int64 BE offset || value); null value contributes no bytes; node = SHA-256(0x01 || l || r)', () => {
  const offsetBytes = (offset: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(offset);
    return b;
  };
  for (const offset of [0, 1, 255, 2 ** 32 + 5, 2 ** 53 - 1]) {
    assert.deepEqual(merkleLeafHash(offset, Buffer.from('abc')), sha(Buffer.from([0]), offsetBytes(BigInt(offset)), Buffer.from('abc')));
  }
  assert.deepEqual(merkleLeafHash(7, null), sha(Buffer.from([0]), offsetBytes(7n)));
  assert.deepEqual(merkleLeafHash(7, null), merkleLeafHash(7, Buffer.alloc(0)));
  const big = Buffer.alloc(100_000, 7);
  assert.deepEqual(merkleLeafHash(3, big), sha(Buffer.from([0]), offsetBytes(3n), big));
  const [l, r] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  assert.deepEqual(merkleNodeHash(l, r), sha(Buffer.from([1]), l, r));
});

test('tree hash matches the Certificate Transparency vectors for sizes 1..8, and the empty tree', () => {
  for (let n = 1; n <= 8; n++) assert.equal(merkleTreeHash(ctLeafHashes.slice(0, n)).toString('hex'), CT_ROOTS[n - 1], `size ${n}`);
  assert.equal(merkleTreeHash([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('n = 1: the root is the leaf hash and the audit path is empty', () => {
  const [leaf] = leavesOf(1);
  assert.deepEqual(merkleTreeHash([leaf!]), leaf);
  assert.deepEqual(merkleAuditPath([leaf!], 0), []);
  assert.deepEqual(merkleRootFromPath(0, 1, leaf!, []), leaf);
});

test('the RFC split: 3 leaves = node(node(a, b), c), 5 leaves = node(node(node(a,b),node(c,d)), e)', () => {
  const [a, b, c, d, e] = leavesOf(5) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  assert.deepEqual(merkleTreeHash([a, b, c]), merkleNodeHash(merkleNodeHash(a, b), c));
  assert.deepEqual(merkleTreeHash([a, b, c, d, e]), merkleNodeHash(merkleNodeHash(merkleNodeHash(a, b), merkleNodeHash(c, d)), e));
  assert.deepEqual(merkleAuditPath([a, b, c, d, e], 4), [merkleNodeHash(merkleNodeHash(a, b), merkleNodeHash(c, d))]);
  assert.deepEqual(merkleAuditPath([a, b, c], 0), [b, c]);
  assert.deepEqual(merkleAuditPath([a, b, c], 2), [merkleNodeHash(a, b)]);
});

test('for every size 1..70 (powers of two and odd sizes) and every leaf: reference root, accumulator, audit path', () => {
  const all = leavesOf(70);
  const accumulator = new MerkleAccumulator();
  for (let n = 1; n <= all.length; n++) {
    const leaves = all.slice(0, n);
    accumulator.push(leaves[n - 1]!);
    const root = referenceRoot(leaves);
    assert.deepEqual(merkleTreeHash(leaves), root, `size ${n}`);
    assert.deepEqual(accumulator.root(), root, `accumulator, size ${n}`);
    assert.equal(accumulator.size, n);
    assert.deepEqual(MerkleAccumulator.parse(accumulator.serialize()).root(), root);
    for (let i = 0; i < n; i++) {
      const path = merkleAuditPath(leaves, i);
      assert.deepEqual(merkleRootFromPath(i, n, leaves[i]!, path), root, `size ${n} leaf ${i}`);
      if (n > 1) {
        assert.notDeepEqual(merkleRootFromPath(i, n, all[(i + 1) % n]!, path), root, 'another leaf');
        assert.equal(merkleRootFromPath(i, n, leaves[i]!, path.slice(1)), null, 'a path too short');
        assert.equal(merkleRootFromPath(i, n, leaves[i]!, [...path, root]), null, 'a path too long');
        const flipped = path.map((p) => Buffer.from(p));
        flipped[0]![0]! ^= 1;
        assert.notDeepEqual(merkleRootFromPath(i, n, leaves[i]!, flipped), root, 'a flipped path byte');
      }
    }
  }
  assert.equal(merkleRootFromPath(5, 5, all[0]!, []), null, 'index beyond the tree');
});

test('the accumulator round-trips through serialize, continues identically, and rejects a damaged text', () => {
  const all = leavesOf(13);
  const a = new MerkleAccumulator();
  for (const leaf of all.slice(0, 6)) a.push(leaf);
  const b = MerkleAccumulator.parse(a.serialize());
  for (const leaf of all.slice(6)) {
    a.push(leaf);
    b.push(leaf);
  }
  assert.deepEqual(b.root(), referenceRoot(all));
  assert.equal(new MerkleAccumulator().serialize(), '0:');
  assert.equal(MerkleAccumulator.parse('0:').size, 0);
  assert.throws(() => MerkleAccumulator.parse(`3:${all[0]!.toString('hex')}`));
  a.clear();
  assert.equal(a.size, 0);
});
