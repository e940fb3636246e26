// The receipt check of `tally verify-receipt` (receipt-check.ts) on a proof made here: proven;
// every kind of mismatch is disproved with the reason; inputs that are not receipts are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { merkleAuditPath, merkleLeafHash, merkleTreeHash } from '../../src/merkle-tree.js';
import { checkReceipt, receiptOf, type PublishedCheckpoint } from '../../src/verify/receipt-check.js';
import type { ReceiptProof } from '../../src/verify/receipt-proofs.js';

const FIRST = 100;
const leaves = Array.from({ length: 11 }, (_, i) => merkleLeafHash(FIRST + i, Buffer.from(`record ${i}`)));
const root = merkleTreeHash(leaves).toString('hex');
const receipt = { topic: 'votes', partition: 2, offset: String(FIRST + 6), leafHash: leaves[6]!.toString('hex') };
const proof: ReceiptProof = {
  ...receipt,
  leafIndex: 6,
  treeSize: 11,
  checkpoint: { id: '7', firstOffset: String(FIRST), lastOffset: String(FIRST + 10), records: '11', merkleRoot: root, chainHead: 'a'.repeat(64), createdAt: new Date(0).toISOString() },
  auditPath: merkleAuditPath(leaves, 6).map((h) => h.toString('hex')),
};
const published: PublishedCheckpoint = { id: '7', partition: 2, firstOffset: String(FIRST), lastOffset: String(FIRST + 10), merkleRoot: root };
const flip = (hex: string) => `${hex[0] === '0' ? '1' : '0'}${hex.slice(1)}`;

test('a receipt with its proof and the published checkpoint is proven, step by step', () => {
  const check = checkReceipt(receipt, proof, published);
  assert.equal(check.proven, true, check.steps.join('\n'));
  assert.match(check.steps.at(-1)!, /^PROVEN/);
});

test('any mismatch is disproved, saying which', () => {
  const cases: Array<[string, ReturnType<typeof checkReceipt>]> = [
    ['another record', checkReceipt({ ...receipt, leafHash: flip(receipt.leafHash) }, proof, published)],
    ['for .* not', checkReceipt(receipt, { ...proof, offset: String(FIRST + 5) }, published)],
    ['leads to|differs', checkReceipt(receipt, { ...proof, auditPath: [flip(proof.auditPath[0]!), ...proof.auditPath.slice(1)] }, published)],
    ['cannot belong', checkReceipt(receipt, { ...proof, auditPath: proof.auditPath.slice(1) }, published)],
    ['differs from the proof', checkReceipt(receipt, { ...proof, checkpoint: { ...proof.checkpoint, merkleRoot: flip(root) } }, published)],
    ['does not list', checkReceipt(receipt, proof, null)],
    ['published checkpoint 7 differs', checkReceipt(receipt, proof, { ...published, merkleRoot: flip(root) })],
    ['places the leaf', checkReceipt(receipt, { ...proof, leafIndex: 5 }, published)],
  ];
  for (const [reason, check] of cases) {
    assert.equal(check.proven, false, reason);
    assert.match(check.steps.at(-1)!, new RegExp(`^FAILED: .*(${reason})`), check.steps.join('\n'));
  }
});

test('the receipt is read from a 202 body or taken as is; anything else is not a receipt', () => {
  assert.deepEqual(receiptOf({ voteId: 'x', receipt }), receipt);
  assert.deepEqual(receiptOf(receipt), receipt);
  assert.equal(receiptOf({ ...receipt, leafHash: 'abc' }), null);
  assert.equal(receiptOf({ ...receipt, offset: 5 }), null);
  assert.equal(receiptOf(null), null);
  assert.equal(receiptOf('text'), null);
});
