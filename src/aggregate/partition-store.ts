// One partition's durable state: the interface the processor writes through, and the key layout.
// Implementations: rocksdb-partition-store.ts (production: one RocksDB directory per partition,
// opened by exactly one thread at a time) and memory-partition-store.ts (unit tests).
//
// Key layout (ids are length-prefixed, so no id can forge another key):
//
//   m:next              next offset to read (decimal)          ┐
//   m:head              hash-chain head h(next-1) (hex)        │ written in the same synced
//   m:outcomes          {accepted, duplicate, invalid} so far  │ batch as the tallies they
//   m:checkpoint-from   first offset of the next checkpoint    │ describe
//   m:merkle            Merkle accumulator of the records      │
//                       since checkpoint-from (merkle-tree.ts) │
//   m:topic-id          the Kafka topic id the offsets are of  │ (src/topic-id.ts)
//   c:<offset, 20 dig.> pending checkpoint row (JSON)          ┘
//   t:<survey>          survey tally JSON {responses, votes, regions, lastCastAt}
//   w:<survey><minute>  accepted votes in that event-time minute (decimal)
//   v:<survey><voter>   one-vote state: JSON list of the questions this voter answered (the key
//                       exists iff the voter has a counted response)
import { join } from 'node:path';

export const KEY_NEXT = 'm:next';
export const KEY_HEAD = 'm:head';
export const KEY_OUTCOMES = 'm:outcomes';
export const KEY_CHECKPOINT_FROM = 'm:checkpoint-from';
export const KEY_MERKLE = 'm:merkle';
export const KEY_TOPIC_ID = 'm:topic-id';
export const PREFIX_CHECKPOINT = 'c:';
export const PREFIX_TALLY = 't:';
export const PREFIX_MINUTE = 'w:';
export const PREFIX_VOTER = 'v:';

const part = (id: string): string => `${id.length}:${id}`;
export const tallyKey = (surveyId: string): string => `${PREFIX_TALLY}${surveyId}`;
export const minuteKey = (surveyId: string, minute: number): string => `${PREFIX_MINUTE}${part(surveyId)}${minute}`;
export const voterKey = (surveyId: string, voterId: string): string => `${PREFIX_VOTER}${part(surveyId)}${voterId}`;
export const checkpointKey = (lastOffset: number): string => `${PREFIX_CHECKPOINT}${String(lastOffset).padStart(20, '0')}`;

/** Parses a minute key back into (surveyId, minute). */
export function parseMinuteKey(key: string): { surveyId: string; minute: number } {
  const colon = key.indexOf(':', PREFIX_MINUTE.length);
  const length = Number(key.slice(PREFIX_MINUTE.length, colon));
  const surveyId = key.slice(colon + 1, colon + 1 + length);
  return { surveyId, minute: Number(key.slice(colon + 1 + length)) };
}

export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, topic, `partition-${partition}`);
}

/**
 * Changes collected for one atomic write. Puts and deletes apply in order; nothing is visible to
 * reads until `write` resolves. A batch that is never written is simply dropped.
 */
export interface StoreWriteBatch {
  put(key: string, value: string): void;
  del(key: string): void;
  /** Puts and deletes so far. */
  readonly length: number;
  /** Applies every change at once; `sync` waits until the change is on disk (WAL fsync). Once only. */
  write(sync: boolean): Promise<void>;
}

export interface PartitionStore {
  /** Values of `keys` in order; undefined where missing. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Every (key, value) whose key starts with `prefix`, in key order. */
  scan(prefix: string): Promise<Array<[string, string]>>;
  batch(): StoreWriteBatch;
  close(): Promise<void>;
}
