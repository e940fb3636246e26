// Reads a partition's stored state straight from its RocksDB directory (the aggregator must not
// hold it): for tests, audits and operators who want what RocksDB says, not what Redis shows.
import { KEY_HEAD, KEY_NEXT, KEY_OUTCOMES, PREFIX_TALLY } from './partition-store.js';
import { RocksDBPartitionStore } from './rocksdb-partition-store.js';
import type { SurveyTally } from './survey-tally.js';
import type { OutcomeCounts } from './worker-messages.js';

export interface StoredPartitionState {
  nextOffset: number;
  chainHead: string;
  outcomes: OutcomeCounts;
  surveys: Map<string, SurveyTally>;
}

export async function readPartitionState(dir: string): Promise<StoredPartitionState> {
  const store = await RocksDBPartitionStore.open(dir);
  try {
    const [next, head, outcomes] = await store.getMany([KEY_NEXT, KEY_HEAD, KEY_OUTCOMES]);
    const surveys = new Map<string, SurveyTally>();
    for (const [key, value] of await store.scan(PREFIX_TALLY)) surveys.set(key.slice(PREFIX_TALLY.length), JSON.parse(value) as SurveyTally);
    return {
      nextOffset: next === undefined ? 0 : Number(next),
      chainHead: head ?? '0'.repeat(64),
      outcomes: outcomes === undefined ? { accepted: 0, duplicate: 0, invalid: 0 } : (JSON.parse(outcomes) as OutcomeCounts),
      surveys,
    };
  } finally {
    await store.close();
  }
}
