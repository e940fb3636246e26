// Consumer progress of a group on a topic, from Kafka itself: end offsets vs committed offsets.
// The aggregator commits after each durable write, so committed = records through the
// exactly-once path.
import type { Admin } from 'kafkajs';

export interface LagSample {
  /** ms since the scenario's clock origin */
  t: number;
  endOffsets: number;
  committed: number;
  lag: number;
  perPartitionLag: number[];
}

export async function endOffsetTotal(admin: Admin, topic: string): Promise<{ total: number; perPartition: number[]; records: number }> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const perPartition: number[] = [];
  let total = 0;
  let records = 0;
  for (const p of offsets) {
    perPartition[p.partition] = Number(p.high);
    total += Number(p.high);
    records += Number(p.high) - Number(p.low);
  }
  return { total, perPartition, records };
}

export async function sampleLag(admin: Admin, topic: string, groupId: string, t: number): Promise<LagSample> {
  const [end, committedTopics] = await Promise.all([endOffsetTotal(admin, topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committed: number[] = [];
  for (const p of committedTopics[0]?.partitions ?? []) committed[p.partition] = Math.max(0, Number(p.offset));
  let committedTotal = 0;
  const perPartitionLag = end.perPartition.map((high, partition) => {
    const c = committed[partition] ?? 0;
    committedTotal += c;
    return Math.max(0, high - c);
  });
  return { t, endOffsets: end.total, committed: committedTotal, lag: perPartitionLag.reduce((a, b) => a + b, 0), perPartitionLag };
}
