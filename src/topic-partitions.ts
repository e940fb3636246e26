// The partition count of a votes topic, recorded in PostgreSQL (topic_partitions, migration 6) by
// the first ingest or aggregate that runs on it, and checked by every later start: survey keys hash
// to partitions by the count and the one-vote ledger is per partition, so a topic whose partitions
// were added (or that was recreated with another count) would count a voter's votes twice, and
// `tally verify` would recount the same way and pass. The roles refuse to run instead
// (TALLY_ERR_PARTITION_COUNT, whose howToSolve says how to migrate).
import { TallyError } from './errors.js';
import type { Pool } from './db/postgres.js';

/** Records `partitions` for `topic` if nothing is recorded yet; throws if another count is. */
export async function checkPartitionCount(pool: Pool, topic: string, partitions: number): Promise<void> {
  await pool.query('INSERT INTO topic_partitions (topic, partitions) VALUES ($1, $2) ON CONFLICT (topic) DO NOTHING', [topic, partitions]);
  const { rows } = await pool.query<{ partitions: number; recorded_at: Date }>('SELECT partitions, recorded_at FROM topic_partitions WHERE topic = $1', [topic]);
  const recorded = rows[0]!;
  if (recorded.partitions === partitions) return;
  throw new TallyError(
    'TALLY_ERR_PARTITION_COUNT',
    `topic ${topic} has ${partitions} partitions, but ${recorded.partitions} were recorded when tally first ran on it (${recorded.recorded_at.toISOString()}, table topic_partitions); refusing to count, see the error's howToSolve to migrate`,
  );
}
