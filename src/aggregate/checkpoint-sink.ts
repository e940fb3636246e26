// Inserts checkpoint rows into audit_checkpoints (append-only). The rows are already durable in
// RocksDB; inserting one twice is harmless (ON CONFLICT DO NOTHING), see docs/counting-rules.md.
import type { Pool } from '../db/postgres.js';
import type { CheckpointRow } from './worker-messages.js';

const INSERT = `INSERT INTO audit_checkpoints (topic, partition, first_offset, last_offset, records, chain_head, tallies_digest, merkle_root)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (topic, partition, last_offset) DO NOTHING`;

export async function insertCheckpoints(pool: Pool, rows: readonly CheckpointRow[]): Promise<void> {
  for (const row of rows) {
    await pool.query(INSERT, [row.topic, row.partition, row.firstOffset, row.lastOffset, row.records, row.chainHead, row.talliesDigest, row.merkleRoot]);
  }
}
