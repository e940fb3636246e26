// The Merkle inclusion proof of a receipt (issue 15): the checkpoint whose range covers the
// record, the record's leaf hash and its RFC 6962 audit path, all built from the log (the records
// of the checkpoint's range, read back from Kafka) and the stored checkpoint, never from what the
// voter sends. Leaves of recently asked checkpoints are kept (32 bytes per record), and concurrent
// requests for one checkpoint share one read.
import type { Kafka } from 'kafkajs';
import type { Pool } from '../db/postgres.js';
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { merkleAuditPath, merkleLeafHash, merkleTreeHash } from '../merkle-tree.js';
import { findCheckpointCovering, type Checkpoint } from './checkpoints.js';
import { readLogRange } from './log-range.js';

export interface ReceiptProof {
  topic: string;
  partition: number;
  offset: string;
  /** Hex leaf hash of the record as the log holds it. */
  leafHash: string;
  /** Position of the leaf in the checkpoint's tree and the tree's size (RFC 6962 m and n). */
  leafIndex: number;
  treeSize: number;
  checkpoint: { id: string; firstOffset: string; lastOffset: string; records: string; merkleRoot: string; chainHead: string; createdAt: string };
  /** Hex hashes, from the leaf's sibling up to the root's children. */
  auditPath: string[];
}

interface Leaves {
  offsets: number[];
  hashes: Buffer[];
}

/** Seconds a client should wait before asking again for a record no checkpoint covers yet. */
export const RECEIPT_RETRY_AFTER_SECONDS = 5;
const CACHED_CHECKPOINTS = 32;

export class ReceiptProofs {
  private readonly leaves = new Map<string, Promise<Leaves>>();

  constructor(
    private readonly pool: Pool,
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  async proof(partition: number, offset: string): Promise<ReceiptProof> {
    const checkpoint = await findCheckpointCovering(this.pool, this.topic, partition, offset);
    if (checkpoint === null) {
      throw new TallyError('TALLY_ERR_RECEIPT_PENDING', `${this.topic}/${partition} offset ${offset}`, { retryAfterSeconds: RECEIPT_RETRY_AFTER_SECONDS });
    }
    const { offsets, hashes } = await this.leavesOf(checkpoint);
    const index = offsets.indexOf(Number(offset));
    if (index < 0) throw new Error(`the log has no record at ${this.topic}/${partition} offset ${offset}, inside checkpoint ${checkpoint.id}`);
    return {
      topic: this.topic,
      partition,
      offset,
      leafHash: hashes[index]!.toString('hex'),
      leafIndex: index,
      treeSize: hashes.length,
      checkpoint: {
        id: checkpoint.id,
        firstOffset: checkpoint.firstOffset,
        lastOffset: checkpoint.lastOffset,
        records: checkpoint.records,
        merkleRoot: checkpoint.merkleRoot!,
        chainHead: checkpoint.chainHead,
        createdAt: checkpoint.createdAt,
      },
      auditPath: merkleAuditPath(hashes, index).map((hash) => hash.toString('hex')),
    };
  }

  private leavesOf(checkpoint: Checkpoint): Promise<Leaves> {
    let leaves = this.leaves.get(checkpoint.id);
    if (leaves === undefined) {
      leaves = this.read(checkpoint);
      leaves.catch(() => this.leaves.delete(checkpoint.id));
      if (this.leaves.size >= CACHED_CHECKPOINTS) this.leaves.delete(this.leaves.keys().next().value!);
      this.leaves.set(checkpoint.id, leaves);
    }
    return leaves;
  }

  private async read(checkpoint: Checkpoint): Promise<Leaves> {
    const records = await readLogRange({
      kafka: this.kafka,
      topic: this.topic,
      partition: checkpoint.partition,
      first: Number(checkpoint.firstOffset),
      last: Number(checkpoint.lastOffset),
      logger: this.logger,
    });
    const hashes = records.map((record) => merkleLeafHash(record.offset, record.value));
    const root = merkleTreeHash(hashes).toString('hex');
    // Served anyway: a client checking the proof against the published root then sees it fail.
    if (root !== checkpoint.merkleRoot) this.logger.error({ checkpoint: checkpoint.id, root, stored: checkpoint.merkleRoot }, 'the log does not give the Merkle root a checkpoint claims');
    return { offsets: records.map((record) => record.offset), hashes };
  }
}
