// One row of `audit_checkpoints` (migration 2; append-only): written by the aggregator, read by
// the verifier and the public audit API. int64 columns stay decimal strings so no offset is rounded.
// Field meanings: docs/counting-rules.md "Checkpoints".
export interface AuditCheckpoint {
  topic: string;
  partition: number;
  firstOffset: string;
  /** Inclusive: the last record the checkpoint covers. */
  lastOffset: string;
  records: string;
  /** Hex h(lastOffset) of the partition's hash chain. */
  chainHead: string;
  /** talliesDigest() of the partition's tallies after lastOffset. */
  talliesDigest: string;
  /** Hex RFC 6962 root over the records firstOffset … lastOffset (docs/counting-rules.md); null on rows older than the column. */
  merkleRoot: string | null;
}
