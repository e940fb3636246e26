// The receipt in every 202 of a vote (issue 15, docs/counting-rules.md "Merkle root"): where the
// record is (topic, partition, offset) and its RFC 6962 leaf hash, computed from the exact bytes
// produced. With GET /v1/receipts/:partition/:offset (src/verify/receipt-routes.ts) and the
// published checkpoints it proves the record is in the log at that position; it reveals nothing
// but hashes and positions.
import { merkleLeafHash } from '../merkle-tree.js';

export interface VoteReceipt {
  topic: string;
  partition: number;
  /** Decimal string: Kafka offsets are int64. */
  offset: string;
  /** Hex SHA-256(0x00 || offset as int64 BE || record value). */
  leafHash: string;
}

export function voteReceipt(topic: string, produced: { partition: number; offset: string; value: Buffer }): VoteReceipt {
  return { topic, partition: produced.partition, offset: produced.offset, leafHash: merkleLeafHash(Number(produced.offset), produced.value).toString('hex') };
}

export const voteReceiptSchema = {
  type: 'object',
  required: ['topic', 'partition', 'offset', 'leafHash'],
  description: 'proof material: GET /v1/receipts/{partition}/{offset} gives the Merkle audit path once a checkpoint covers the record',
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer', minimum: 0 },
    offset: { type: 'string', pattern: '^[0-9]+$' },
    leafHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const;
