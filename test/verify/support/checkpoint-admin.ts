// What only the schema owner can do to audit_checkpoints, and only by switching its append-only
// triggers off inside one transaction: tamper with a row (to prove verify notices) and clean up
// a test's rows. The app role can do neither.
import pg from 'pg';

async function asOwnerWithoutTriggers(adminUrl: string, sql: string, params: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE audit_checkpoints DISABLE TRIGGER USER');
    const result = await client.query(sql, params);
    await client.query('ALTER TABLE audit_checkpoints ENABLE TRIGGER USER');
    await client.query('COMMIT');
    return result.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

export function tamperCheckpoint(adminUrl: string, id: string, column: 'chain_head' | 'tallies_digest' | 'merkle_root', value: string): Promise<number> {
  return asOwnerWithoutTriggers(adminUrl, `UPDATE audit_checkpoints SET ${column} = $2 WHERE id = $1`, [id, value]);
}

export function deleteCheckpointsOf(adminUrl: string, topic: string): Promise<number> {
  return asOwnerWithoutTriggers(adminUrl, 'DELETE FROM audit_checkpoints WHERE topic = $1', [topic]);
}
