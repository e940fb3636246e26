// Reading `audit_checkpoints` (src/db/migrations.ts, migration 2; append-only). The aggregator
// writes them; the verifier and the public audit API only read. int64 columns stay decimal
// strings so no offset is ever rounded.
import type { AuditCheckpoint } from '../db/audit-checkpoint.js';
import type { Pool } from '../db/postgres.js';

/** A stored checkpoint: the row plus its id (insertion order) and creation time. */
export interface Checkpoint extends AuditCheckpoint {
  id: string;
  createdAt: string;
}

export interface CheckpointQuery {
  topic: string;
  partition?: number;
  /** Only checkpoints with a larger id (a cursor: pass the last id of the previous page). */
  afterId?: string;
  limit?: number;
}

interface CheckpointRow {
  id: string;
  topic: string;
  partition: number;
  first_offset: string;
  last_offset: string;
  records: string;
  chain_head: string;
  tallies_digest: string;
  merkle_root: string | null;
  created_at: Date;
}

/** Checkpoints in id (insertion) order. */
export async function listCheckpoints(pool: Pool, query: CheckpointQuery): Promise<Checkpoint[]> {
  const params: unknown[] = [query.topic];
  let where = 'topic = $1';
  if (query.partition !== undefined) {
    params.push(query.partition);
    where += ` AND partition = $${params.length}`;
  }
  if (query.afterId !== undefined) {
    params.push(query.afterId);
    where += ` AND id > $${params.length}`;
  }
  let limit = '';
  if (query.limit !== undefined) {
    params.push(query.limit);
    limit = ` LIMIT $${params.length}`;
  }
  const { rows } = await pool.query<CheckpointRow>(
    `SELECT id, topic, partition, first_offset, last_offset, records, chain_head, tallies_digest, merkle_root, created_at
       FROM audit_checkpoints WHERE ${where} ORDER BY id${limit}`,
    params,
  );
  return rows.map(toCheckpoint);
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    id: row.id,
    topic: row.topic,
    partition: row.partition,
    firstOffset: row.first_offset,
    lastOffset: row.last_offset,
    records: row.records,
    chainHead: row.chain_head,
    talliesDigest: row.tallies_digest,
    merkleRoot: row.merkle_root,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * The first checkpoint (by last offset) of `partition` whose range holds `offset` and that has a
 * Merkle root; null when none covers it yet. Uses the (topic, partition, last_offset) index.
 */
export async function findCheckpointCovering(pool: Pool, topic: string, partition: number, offset: string): Promise<Checkpoint | null> {
  const { rows } = await pool.query<CheckpointRow>(
    `SELECT id, topic, partition, first_offset, last_offset, records, chain_head, tallies_digest, merkle_root, created_at
       FROM audit_checkpoints
      WHERE topic = $1 AND partition = $2 AND last_offset >= $3 AND first_offset <= $3 AND merkle_root IS NOT NULL
      ORDER BY last_offset, id LIMIT 1`,
    [topic, partition, offset],
  );
  return rows.length === 0 ? null : toCheckpoint(rows[0]!);
}
