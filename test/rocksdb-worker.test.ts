// Embedded RocksDB, as the aggregator's worker threads use it: a synced write batch read back from
// a worker thread (RocksDB in a temp dir; no network service).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';

test('RocksDB: a synced write batch read back from a worker thread', async () => {
  const pool = new Piscina({ filename: new URL('./fixtures/rocksdb-worker.js', import.meta.url).href, maxThreads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'tally-rocks-'));
  try {
    const entries = { 'offset': '17', 'count:q1:o1': '3' };
    assert.deepEqual(await pool.run({ dir, entries }), entries);
  } finally {
    await pool.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
