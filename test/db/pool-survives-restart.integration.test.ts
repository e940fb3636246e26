// Integration: PostgreSQL
// A PostgreSQL restart closes every idle connection of a role's pool. Before the fix that was an
// 'error' event without a listener: an uncaught exception that killed ingest and the aggregator
// (found by `bench chaos`, fault "postgresql restart"). The restart is played by a TCP proxy that
// cuts every connection (test/support/tcp-proxy.ts): the shared server is not touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPool } from '../../src/db/postgres.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { testConfig } from '../support/test-config.js';
import { waitFor } from '../support/wait.js';

test('a pool whose idle connections are cut reports it, stays alive and reconnects on the next query', async () => {
  const config = testConfig('pool-restart');
  const target = new URL(config.postgres.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(config.postgres.url);
  viaProxy.port = String(proxy.port);
  const lost: Error[] = [];
  const pool = createPool(viaProxy.toString(), 2, (error) => lost.push(error));
  try {
    assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
    assert.equal(pool.idleCount, 1, 'one idle connection in the pool');
    proxy.cut();
    await waitFor(() => lost.length > 0 && pool.totalCount === 0, { timeoutMs: 10_000, what: 'the pool to drop the cut connection' });
    proxy.restore();
    assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, 'a new connection serves the next query');
    assert.equal(proxy.connections, 2);
  } finally {
    await pool.end();
    await proxy.close();
  }
});
