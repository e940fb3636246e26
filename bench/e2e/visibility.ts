// When did each accepted vote become visible? A vote (partition p, offset o) is in a snapshot once
// the snapshot's watermark for p is above o. Snapshots seen by one observer of a survey arrive in
// order and watermarks only grow, so the first such snapshot is found by binary search.

export interface ObservedSnapshot {
  snapshotId: string;
  generatedAt: number;
  receivedAt: number;
  watermark: { [partition: string]: string };
}

export interface VoteRecord {
  surveyId: string;
  partition: number;
  offset: number;
  acceptedAt: number;
}

/** Index of the first snapshot whose watermark[partition] > offset, or -1. */
export function firstSnapshotContaining(snapshots: readonly ObservedSnapshot[], partition: number, offset: number): number {
  const key = String(partition);
  const containsIt = (s: ObservedSnapshot) => Number(s.watermark[key] ?? '0') > offset;
  let lo = 0;
  let hi = snapshots.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (containsIt(snapshots[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo < snapshots.length ? lo : -1;
}
