// One partition's state in its own RocksDB directory (<dataDir>/<topic>/partition-<n>), opened by
// exactly one thread at a time. Key layout (ids are length-prefixed, so no id can forge a key):
//
//   m:next              next offset to read (decimal)          ┐
//   m:head              hash-chain head h(next-1) (hex)        │ written in the same synced
//   m:outcomes          {accepted, duplicate, invalid} so far  │ batch as the tallies they
//   m:checkpoint-from   first offset of the next checkpoint    │ describe
//   c:<offset, 20 dig.> pending checkpoint row (JSON)          ┘
//   t:<survey>          survey tally JSON {responses, votes, regions, lastCastAt}
//   w:<survey><minute>  accepted votes in that event-time minute (decimal)
//   v:<survey><voter>   one-vote state: JSON list of the questions this voter answered (the key
//                       exists iff the voter has a counted response)
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../errors.js';
import { rocksdb, type RocksDB } from './rocksdb.js';

export const KEY_NEXT = 'm:next';
export const KEY_HEAD = 'm:head';
export const KEY_OUTCOMES = 'm:outcomes';
export const KEY_CHECKPOINT_FROM = 'm:checkpoint-from';
export const PREFIX_CHECKPOINT = 'c:';
export const PREFIX_TALLY = 't:';
export const PREFIX_MINUTE = 'w:';

const part = (id: string): string => `${id.length}:${id}`;
export const tallyKey = (surveyId: string): string => `${PREFIX_TALLY}${surveyId}`;
export const minuteKey = (surveyId: string, minute: number): string => `${PREFIX_MINUTE}${part(surveyId)}${minute}`;
export const voterKey = (surveyId: string, voterId: string): string => `v:${part(surveyId)}${voterId}`;
export const checkpointKey = (lastOffset: number): string => `${PREFIX_CHECKPOINT}${String(lastOffset).padStart(20, '0')}`;

/** Parses a minute key back into (surveyId, minute). */
export function parseMinuteKey(key: string): { surveyId: string; minute: number } {
  const colon = key.indexOf(':', PREFIX_MINUTE.length);
  const length = Number(key.slice(PREFIX_MINUTE.length, colon));
  const surveyId = key.slice(colon + 1, colon + 1 + length);
  return { surveyId, minute: Number(key.slice(colon + 1 + length)) };
}

export type WriteOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, topic, `partition-${partition}`);
}

/**
 * Memtable size. The binding's 4 MB default flushes every few batches (a 12,000-record batch writes
 * ~1 MB of voter keys), and the tally, minute and meta keys rewritten by every batch are flushed
 * again each time; 32 MB cut the worker's CPU per record by ~12% (processor-probe). Memory: up to
 * two memtables per open partition.
 */
const WRITE_BUFFER_BYTES = 32 * 1024 * 1024;
const OPEN_RETRY_MS = 250;
const OPEN_GIVE_UP_MS = 60_000;

export class PartitionStore {
  private constructor(
    readonly dir: string,
    private readonly db: RocksDB,
  ) {}

  /**
   * Opens the directory, waiting while another thread or process still holds its lock (a partition
   * moving between threads or processes on one machine); gives up with TALLY_ERR_PARTITION_OWNED.
   */
  static async open(dir: string): Promise<PartitionStore> {
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    for (;;) {
      const db = rocksdb(dir);
      try {
        await new Promise<void>((resolve, reject) => db.open({ createIfMissing: true, writeBufferSize: WRITE_BUFFER_BYTES }, (error) => (error ? reject(error) : resolve())));
        return new PartitionStore(dir, db);
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

  /** Values of `keys` in order; undefined where missing. */
  getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const db = this.db as unknown as {
      getMany(keys: string[], options: { asBuffer: boolean }, callback: (error: Error | undefined, values: (string | undefined)[]) => void): void;
    };
    return new Promise((resolve, reject) => db.getMany(keys, { asBuffer: false }, (error, values) => (error ? reject(error) : resolve(values))));
  }

  /** Every (key, value) whose key starts with `prefix`, in key order. */
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

  /** One atomic write batch; `sync` waits for the WAL to reach the disk. */
  write(ops: WriteOp[], sync: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.db.batch(ops, { sync }, (error) => (error ? reject(error) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())));
  }
}
