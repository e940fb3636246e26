// `tally lag`: the aggregator group's lag per partition of the votes topic.
//
// Where each column comes from:
//   NEXT-OFFSET  the group's committed offset (the aggregator commits its stored next offset after
//                every durable write, so this is what it has counted), as Kafka's own
//                kafka-consumer-groups tool reports CURRENT-OFFSET
//   LOG-END      the partition's high watermark;  LAG = LOG-END − NEXT-OFFSET ('-' if never committed)
//   OWNER        the group member the partition is assigned to (client id and host), '-' if none
//   LAST-BATCH   when that partition's last durable write finished, and WRITER the aggregator
//                process that did it: a small Redis hash the aggregator updates with its tallies
import kafkajs from 'kafkajs';
import { Redis } from 'ioredis';
import type { TallyConfig } from '../config.js';
import { createKafka } from '../kafka.js';
import { createLogger } from '../logger.js';
import { partitionStatusKey, type PartitionStatus } from './partial-publisher.js';

const { AssignerProtocol } = kafkajs;

export interface PartitionLag {
  partition: number;
  /** Committed next offset of the group; null if the group never committed this partition. */
  nextOffset: number | null;
  logEnd: number;
  /** logEnd − nextOffset; null when nextOffset is null (as Kafka's tool prints '-'). */
  lag: number | null;
  owner: string | null;
  lastBatchAt: string | null;
  writer: string | null;
}

export interface LagReport {
  topic: string;
  group: string;
  groupState: string;
  partitions: PartitionLag[];
}

export async function collectLag(config: TallyConfig): Promise<LagReport> {
  const logger = createLogger('lag', { logLevel: 'error' });
  const kafka = createKafka(config, 'lag', logger);
  const admin = kafka.admin();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  const topic = config.kafka.votesTopic;
  const group = config.kafka.consumerGroup;
  await admin.connect();
  try {
    const [ends, committed, described, statuses] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
      admin.describeGroups([group]),
      redis.connect().then(() => redis.hgetall(partitionStatusKey(topic))),
    ]);
    const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const owners = new Map<number, string>();
    const description = described.groups[0];
    for (const member of description?.members ?? []) {
      if (!member.memberAssignment || member.memberAssignment.length === 0) continue;
      const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      for (const partition of assignment?.assignment[topic] ?? []) owners.set(partition, `${member.clientId}${member.clientHost}`);
    }
    const partitions = ends
      .map(({ partition, high }): PartitionLag => {
        const logEnd = Number(high);
        const offset = committedByPartition.get(partition);
        const nextOffset = offset === undefined || offset < 0 ? null : offset;
        const status = statuses[String(partition)] ? (JSON.parse(statuses[String(partition)]!) as PartitionStatus) : null;
        return {
          partition,
          nextOffset,
          logEnd,
          lag: nextOffset === null ? null : logEnd - nextOffset,
          owner: owners.get(partition) ?? null,
          lastBatchAt: status ? new Date(status.writtenAt).toISOString() : null,
          writer: status?.instance ?? null,
        };
      })
      .sort((a, b) => a.partition - b.partition);
    return { topic, group, groupState: description?.state ?? 'Unknown', partitions };
  } finally {
    redis.disconnect();
    await admin.disconnect();
  }
}

export function formatLagTable(report: LagReport): string {
  const header = ['PARTITION', 'NEXT-OFFSET', 'LOG-END', 'LAG', 'OWNER', 'LAST-BATCH', 'WRITER'];
  const rows = report.partitions.map((p) => [
    String(p.partition),
    p.nextOffset === null ? '-' : String(p.nextOffset),
    String(p.logEnd),
    p.lag === null ? '-' : String(p.lag),
    p.owner ?? '-',
    p.lastBatchAt ?? '-',
    p.writer ?? '-',
  ]);
  const total = report.partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `topic ${report.topic}  group ${report.group} (${report.groupState})  total lag ${total}`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}

export async function runLag(config: TallyConfig, options: { json?: boolean }): Promise<number> {
  try {
    const report = await collectLag(config);
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatLagTable(report)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`tally lag: ${(error as Error).message}\n`);
    return 1;
  }
}
