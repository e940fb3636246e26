// The whole main-thread ↔ worker-thread protocol, named here so partition-worker.ts reads top to
// bottom. One partition is pinned to one worker thread (one piscina pool per slot); every task
// names its partition, and the worker keeps that partition's state in memory between tasks.
//
//   main (kafkajs eachBatch)                        worker (partition-worker.ts)
//   open ───────────────────────────────────────▶  open RocksDB, load tallies  ─▶ OpenResult
//   open, reload (after a failure) ─────────────▶  drop memory and any held write, open again ─▶ OpenResult
//   batch (packed records, transferred) ────────▶  chain, decode, count, then
//                                                    no invalid records: synced write + Redis ─▶ written
//                                                    invalid records:    hold the write        ─▶ needs-dlq
//   (main produces the DLQ entries)
//   commit ─────────────────────────────────────▶  synced write + Redis                       ─▶ written
//   checkpoint (graceful shutdown) ─────────────▶  synced write of a pending row               ─▶ CheckpointResult
//   confirm-checkpoints (row is in PostgreSQL) ─▶  delete the pending rows
//   refresh-partials (every TALLY_PARTIALS_CHECK_MS) ▶ Redis status missing / behind the store?
//                                                    republish every survey                 ─▶ RefreshResult
//   close ──────────────────────────────────────▶  close RocksDB (another thread/process may open it)
//
// A batch or commit that throws closes the partition on the worker at once (its memory may be
// ahead of RocksDB); the main thread then reopens it (partition-lifecycle.ts).

import type { AuditCheckpoint } from '../db/audit-checkpoint.js';

/** Values shared by all workers of one aggregator process (piscina workerData). */
export interface WorkerSettings {
  dataDir: string;
  topic: string;
  registryUrl: string;
  /** The votes topic's Kafka id (src/topic-id.ts), stored with every partition's offsets. */
  topicId?: string;
  /** TALLY_SCHEMA_NOT_FOUND_GRACE_MS */
  schemaNotFoundGraceMs: number;
  redisUrl: string;
  /** Who we are, shown by `tally lag` next to each partition. */
  instance: string;
  checkpointEvery: number;
  logLevel: string;
}

/** A checkpoint row, exactly the columns of audit_checkpoints. */
export type CheckpointRow = AuditCheckpoint;

export interface OutcomeCounts {
  accepted: number;
  duplicate: number;
  invalid: number;
}

/**
 * A Kafka batch packed for transfer: one byte buffer and one index of 6 doubles per record
 * (offset, keyStart, keyLength, valueStart, valueLength, timestamp; length -1 = null). Each value is preceded
 * by 40 scratch bytes so the hash chain can hash `head || offset || value` in place without a copy.
 */
export interface PackedBatch {
  bytes: Uint8Array;
  index: Float64Array;
}

export type WorkerTask =
  | { kind: 'open'; partition: number; reload?: boolean }
  | { kind: 'batch'; partition: number; batch: PackedBatch }
  | { kind: 'commit'; partition: number }
  | { kind: 'checkpoint'; partition: number }
  | { kind: 'confirm-checkpoints'; partition: number; lastOffsets: string[] }
  | { kind: 'refresh-partials'; partition: number }
  | { kind: 'close'; partition: number };

export interface OpenResult {
  nextOffset: string;
  /** Rows written to RocksDB but maybe not yet to PostgreSQL (re-inserted at start-up). */
  pendingCheckpoints: CheckpointRow[];
  /** True when the partition had no local state (it will be rebuilt by replaying the topic). */
  fresh: boolean;
  /** Records whose partials are not known to be published (the republish at open failed): 0 normally. */
  partialsBehind: number;
}

export interface RefreshResult {
  nextOffset: string;
  /** How far the published partials were behind the store before this refresh republished them. */
  foundBehind: number;
  /** After the refresh: 0. */
  partialsBehind: number;
}

export interface DlqRecord {
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  reason: string;
}

export interface WrittenResult {
  kind: 'written';
  nextOffset: string;
  outcomes: OutcomeCounts;
  records: number;
  writeSeconds: number;
  checkpoint: CheckpointRow | null;
  /** Records whose partials are not known to be published after this write (0 normally). */
  partialsBehind: number;
}

export type BatchResult =
  | WrittenResult
  /** Every record was below the stored offset: nothing to do. */
  | { kind: 'skipped'; nextOffset: string }
  /** The batch starts after the stored offset: the consumer must seek back to nextOffset. */
  | { kind: 'gap'; nextOffset: string }
  /** The write is prepared and held; produce these to the DLQ, then send `commit`. */
  | { kind: 'needs-dlq'; dlq: DlqRecord[] };

export interface CheckpointResult {
  checkpoint: CheckpointRow | null;
}
