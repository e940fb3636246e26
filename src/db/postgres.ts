// PostgreSQL pools and the migration runner.
import pg from 'pg';
import type { TallyConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { appRoleGrants, migrations } from './migrations.js';

export type Pool = pg.Pool;

/**
 * A pool whose idle connections may die under it (PostgreSQL restarted, a proxy or firewall cut
 * them): pg then emits 'error' on the pool, which with no listener would end the process. The dead
 * connection is already out of the pool and the next query opens a new one; a query that fails is
 * reported by its caller (503 TALLY_ERR_UNAVAILABLE in ingest).
 */
export function createPool(url: string, max = 10, onIdleError: (error: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  pool.on('error', onIdleError);
  return pool;
}

const MIGRATION_LOCK = 7_461_001; // pg_advisory_lock key: one migrator at a time

/** Applies pending migrations as the schema owner and (re)grants the app role. Idempotent. */
export async function migrate(config: TallyConfig, logger: Logger): Promise<number[]> {
  const appRole = decodeURIComponent(new URL(config.postgres.url).username) || 'tally_app';
  const client = new pg.Client({ connectionString: config.postgres.adminUrl });
  await client.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations(version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(migration.version);
      logger.info({ version: migration.version, name: migration.name }, 'migration applied');
    }
    await client.query(appRoleGrants(pg.escapeIdentifier(appRole)));
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
  return applied;
}
