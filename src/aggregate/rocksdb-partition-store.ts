// PartitionStore on RocksDB: one directory per partition (<dataDir>/<topic>/partition-<n>, see
// partition-store.ts for the key layout), opened by exactly one thread at a time.
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../errors.js';
import type { PartitionStore, StoreWriteBatch } from './partition-store.js';
import { rocksdb, type RocksDB } from './rocksdb.js';

/**
 * Memtable size. The binding's 4 MB default flushes every few batches (a 12,000-record batch writes
 * ~1 MB of voter keys), and the tally, minute and meta keys rewritten by every batch are flushed
 * again each time; 32 MB cut the worker's CPU per record by ~12% (processor-probe). Memory: up to
 * two memtables per open partition.
 */
const WRITE_BUFFER_BYTES = 32 * 1024 * 1024;
const OPEN_RETRY_MS = 250;
const OPEN_GIVE_UP_MS = 60_000;

type ChainedBatch = ReturnType<RocksDB['batch']>;

/** The binding's chained batch: each put goes into the native WriteBatch at once (no op objects kept). */
class RocksDBWriteBatch implements StoreWriteBatch {
  private readonly chained: ChainedBatch;
  /** Counted here: the binding's chained batch has no `length` (it was undefined, so confirmCheckpoints never wrote its deletes). */
  private count = 0;

  constructor(db: RocksDB) {
    this.chained = db.batch();
  }

  get length(): number {
    return this.count;
  }

  put(key: string, value: string): void {
    this.chained.put(key, value);
    this.count++;
  }

  del(key: string): void {
    this.chained.del(key);
    this.count++;
  }

  write(sync: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.chained.write({ sync }, (error?: Error) => (error ? reject(error) : resolve())));
  }
}

export class RocksDBPartitionStore implements PartitionStore {
  private constructor(
    readonly dir: string,
    private readonly db: RocksDB,
  ) {}

  /**
   * Opens the directory, waiting while another thread or process still holds its lock (a partition
   * moving between threads or processes on one machine); gives up with TALLY_ERR_PARTITION_OWNED.
   */
  static async open(dir: string): Promise<RocksDBPartitionStore> {
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    for (;;) {
      const db = rocksdb(dir);
      try {
        await new Promise<void>((resolve, reject) => db.open({ createIfMissing: true, writeBufferSize: WRITE_BUFFER_BYTES }, (error) => (error ? reject(error) : resolve())));
        return new RocksDBPartitionStore(dir, db);
      } catch (error) {
        const message = String((error as Error).message);
        const locked = /lock/i.test(message);
        if (!locked || Date.now() - started > OPEN_GIVE_UP_MS) {
          throw new TallyError('TALLY_ERR_PARTITION_OWNED', `${dir}: ${message}`, { cause: error });
        }
        await sleep(OPEN_RETRY_MS);
      }
    }
  }

  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const db = this.db as unknown as {
      getMany(keys: readonly string[], options: { asBuffer: boolean }, callback: (error: Error | undefined, values: (string | undefined)[]) => void): void;
    };
    return new Promise((resolve, reject) => db.getMany(keys, { asBuffer: false }, (error, values) => (error ? reject(error) : resolve(values))));
  }

  async scan(prefix: string): Promise<Array<[string, string]>> {
    // The byte after the prefix's last byte bounds the range.
    const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const iterator = this.db.iterator({ gte: prefix, lt: upper, keyAsBuffer: false, valueAsBuffer: false });
    const out: Array<[string, string]> = [];
    try {
      for (;;) {
        const entry = await new Promise<[string, string] | null>((resolve, reject) =>
          iterator.next((error, key, value) => (error ? reject(error) : resolve(key === undefined ? null : [String(key), String(value)]))),
        );
        if (entry === null) return out;
        out.push(entry);
      }
    } finally {
      await new Promise<void>((resolve) => iterator.end(() => resolve()));
    }
  }

  batch(): StoreWriteBatch {
    return new RocksDBWriteBatch(this.db);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())));
  }
}
