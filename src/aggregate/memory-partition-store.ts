// PartitionStore in memory, for unit tests (no RocksDB): the same contract, including that a batch
// changes nothing until it is written and that a closed store refuses work. Two stores built on the
// same `data` map are the same partition opened twice (a reopen after a crash or a failed batch).
import type { PartitionStore, StoreWriteBatch } from './partition-store.js';

type Change = [key: string, value: string | undefined];

class MemoryWriteBatch implements StoreWriteBatch {
  private readonly changes: Change[] = [];
  private written = false;

  constructor(private readonly store: MemoryPartitionStore) {}

  get length(): number {
    return this.changes.length;
  }

  put(key: string, value: string): void {
    this.changes.push([key, value]);
  }

  del(key: string): void {
    this.changes.push([key, undefined]);
  }

  async write(sync: boolean): Promise<void> {
    if (this.written) throw new Error('write batch already written');
    this.written = true;
    this.store.apply(this.changes, sync);
  }
}

export class MemoryPartitionStore implements PartitionStore {
  private closed = false;
  /** Synced writes and all writes so far (tests assert that state and position go out together). */
  syncedWrites = 0;
  writes = 0;

  /** `data` may be shared between instances to "reopen" the same partition. */
  constructor(readonly data: Map<string, string> = new Map()) {}

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    this.checkOpen();
    return keys.map((key) => this.data.get(key));
  }

  async scan(prefix: string): Promise<Array<[string, string]>> {
    this.checkOpen();
    return [...this.data].filter(([key]) => key.startsWith(prefix)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  batch(): StoreWriteBatch {
    this.checkOpen();
    return new MemoryWriteBatch(this);
  }

  apply(changes: readonly Change[], sync: boolean): void {
    this.checkOpen();
    for (const [key, value] of changes) {
      if (value === undefined) this.data.delete(key);
      else this.data.set(key, value);
    }
    this.writes++;
    if (sync) this.syncedWrites++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('partition store is closed');
  }
}
