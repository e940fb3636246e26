// GET /v1/receipts/:partition/:offset (public, served by ingest beside the audit routes): the
// Merkle inclusion proof of a vote receipt (receipt-proofs.ts), or 404 TALLY_ERR_RECEIPT_PENDING
// with Retry-After while no checkpoint covers the record. Check it with `tally verify-receipt`,
// the broadcaster's /receipt page, or any RFC 6962 implementation.
import type { FastifyPluginAsync } from 'fastify';
import type { ReceiptProofs } from './receipt-proofs.js';

const hex = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const int64String = { type: 'string', pattern: '^[0-9]{1,19}$' } as const;

const schema = {
  tags: ['audit'],
  summary: 'the Merkle inclusion proof of a vote receipt (RFC 6962 audit path against a checkpoint root)',
  params: {
    type: 'object',
    required: ['partition', 'offset'],
    properties: { partition: { type: 'string', pattern: '^[0-9]{1,9}$' }, offset: int64String },
  },
  response: {
    200: {
      type: 'object',
      required: ['topic', 'partition', 'offset', 'leafHash', 'leafIndex', 'treeSize', 'checkpoint', 'auditPath'],
      properties: {
        topic: { type: 'string' },
        partition: { type: 'integer' },
        offset: int64String,
        leafHash: { ...hex, description: 'SHA-256(0x00 || offset as int64 BE || record value), from the log' },
        leafIndex: { type: 'integer', description: 'the leaf\'s position in the checkpoint\'s tree (offset - firstOffset)' },
        treeSize: { type: 'integer', description: 'leaves in the tree (the checkpoint\'s records)' },
        checkpoint: {
          type: 'object',
          required: ['id', 'firstOffset', 'lastOffset', 'records', 'merkleRoot', 'chainHead', 'createdAt'],
          properties: {
            id: int64String,
            firstOffset: int64String,
            lastOffset: int64String,
            records: int64String,
            merkleRoot: hex,
            chainHead: hex,
            createdAt: { type: 'string', format: 'date-time' },
          },
        },
        auditPath: { type: 'array', items: hex, description: 'RFC 6962 audit path, leaf to root' },
      },
    },
  },
} as const;

export function receiptRoutes(proofs: ReceiptProofs): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { partition: string; offset: string } }>('/v1/receipts/:partition/:offset', { schema }, async (request) =>
      proofs.proof(Number(request.params.partition), String(BigInt(request.params.offset))),
    );
  };
}
