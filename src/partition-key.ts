// The Kafka key of a vote: the survey id, so one survey's votes stay ordered in one partition.
// A hot survey declared with `shards: K` uses `surveyId#(hash(voterId) mod K)`: it spreads over up
// to K partitions while every voter still lands on one key (so one-vote checks stay local).
import { createHash } from 'node:crypto';

export const SHARD_SEPARATOR = '#';

export function voterShard(voterId: string, shards: number): number {
  // First 4 bytes of SHA-256: stable across processes and languages, unlike a JS string hash.
  return createHash('sha256').update(voterId).digest().readUInt32BE(0) % shards;
}

export function partitionKeyFor(surveyId: string, voterId: string, shards: number): string {
  return shards > 1 ? `${surveyId}${SHARD_SEPARATOR}${voterShard(voterId, shards)}` : surveyId;
}

export function surveyIdOfKey(key: string): string {
  const at = key.indexOf(SHARD_SEPARATOR);
  return at < 0 ? key : key.slice(0, at);
}
