// Checking a vote receipt against its Merkle proof and the published checkpoint (issue 15), with
// nothing but hashes: the proof's leaf is the receipt's leaf, the audit path leads from it to the
// root of the checkpoint, and that checkpoint is the one GET /v1/audit/checkpoints publishes.
// Pure: `tally verify-receipt` (verify-receipt-command.ts) does the fetching.
import { merkleRootFromPath } from '../merkle-tree.js';
import type { VoteReceipt } from '../ingest/vote-receipt.js';
import type { ReceiptProof } from './receipt-proofs.js';

/** The published checkpoint, as GET /v1/audit/checkpoints lists it. */
export interface PublishedCheckpoint {
  id: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  merkleRoot: string | null;
}

export interface ReceiptCheck {
  proven: boolean;
  /** What was checked, one line each, in order; the last one says why it failed when it did. */
  steps: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A receipt as the 202 gives it (`body.receipt`), or the receipt itself. */
export function receiptOf(input: unknown): VoteReceipt | null {
  const candidate = (input as { receipt?: unknown } | null)?.receipt ?? input;
  const r = candidate as Partial<VoteReceipt> | null;
  if (r === null || typeof r !== 'object') return null;
  if (typeof r.topic !== 'string' || !Number.isInteger(r.partition) || typeof r.offset !== 'string' || !/^[0-9]+$/.test(r.offset) || typeof r.leafHash !== 'string' || !HEX64.test(r.leafHash)) return null;
  return { topic: r.topic, partition: r.partition!, offset: r.offset, leafHash: r.leafHash };
}

export function checkReceipt(receipt: VoteReceipt, proof: ReceiptProof, published: PublishedCheckpoint | null): ReceiptCheck {
  const steps: string[] = [];
  const fail = (why: string): ReceiptCheck => ({ proven: false, steps: [...steps, `FAILED: ${why}`] });
  const where = `${receipt.topic}/${receipt.partition} offset ${receipt.offset}`;
  if (proof.topic !== receipt.topic || proof.partition !== receipt.partition || proof.offset !== receipt.offset) {
    return fail(`the proof is for ${proof.topic}/${proof.partition} offset ${proof.offset}, not ${where}`);
  }
  if (proof.leafHash !== receipt.leafHash) return fail(`the log holds another record at ${where}: leaf ${proof.leafHash}, receipt ${receipt.leafHash}`);
  steps.push(`leaf ${receipt.leafHash} is the record at ${where} (the log's leaf equals the receipt's)`);

  const { checkpoint } = proof;
  const first = BigInt(checkpoint.firstOffset);
  const last = BigInt(checkpoint.lastOffset);
  const offset = BigInt(receipt.offset);
  if (offset < first || offset > last) return fail(`offset ${receipt.offset} is outside checkpoint ${checkpoint.id} (${checkpoint.firstOffset}..${checkpoint.lastOffset})`);
  const index = Number(offset - first);
  const size = Number(last - first + 1n);
  if (proof.leafIndex !== index || proof.treeSize !== size) return fail(`the proof places the leaf at ${proof.leafIndex} of ${proof.treeSize}; the checkpoint's range says ${index} of ${size}`);
  if (!proof.auditPath.every((hash) => HEX64.test(hash)) || !HEX64.test(checkpoint.merkleRoot)) return fail('the proof holds a value that is not a 32-byte hex hash');
  const root = merkleRootFromPath(index, size, Buffer.from(receipt.leafHash, 'hex'), proof.auditPath.map((hash) => Buffer.from(hash, 'hex')));
  if (root === null) return fail(`an audit path of ${proof.auditPath.length} hashes cannot belong to leaf ${index} of a tree of ${size}`);
  steps.push(`audit path of ${proof.auditPath.length} hashes from leaf ${index} of ${size} leads to root ${root.toString('hex')}`);
  if (root.toString('hex') !== checkpoint.merkleRoot) return fail(`the path's root differs from the proof's checkpoint root ${checkpoint.merkleRoot}`);
  steps.push(`that is the Merkle root of checkpoint ${checkpoint.id} (offsets ${checkpoint.firstOffset}..${checkpoint.lastOffset})`);

  if (published === null) return fail(`GET /v1/audit/checkpoints does not list checkpoint ${checkpoint.id} of partition ${receipt.partition}`);
  if (published.partition !== receipt.partition || published.firstOffset !== checkpoint.firstOffset || published.lastOffset !== checkpoint.lastOffset || published.merkleRoot !== checkpoint.merkleRoot) {
    return fail(`the published checkpoint ${published.id} differs from the proof's: ${published.firstOffset}..${published.lastOffset} root ${published.merkleRoot}`);
  }
  steps.push(`GET /v1/audit/checkpoints publishes checkpoint ${checkpoint.id} with the same range and root`);
  steps.push(`PROVEN: the record with this leaf hash is at ${where}, inside checkpoint ${checkpoint.id} (inclusion and position; whether it counted as accepted is the recount's answer)`);
  return { proven: true, steps };
}
