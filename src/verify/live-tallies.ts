// The live tallies as the aggregator published them: Redis HASH `tally:survey:<surveyId>`,
// field = partition, value = JSON SurveyPartial (src/partition-tally.ts).
import type { Redis } from 'ioredis';
import { partitionStatusKey, type PartitionStatus } from '../aggregate/partial-publisher.js';
import { surveyHashKey, type SurveyPartial } from '../partition-tally.js';

export interface LivePartial {
  /** From the hash name and field: where the partial is stored, whatever its JSON says. */
  surveyId: string;
  partition: number;
  /** The parsed partial, or null when the stored value is not a readable SurveyPartial. */
  partial: SurveyPartial | null;
  /** Why `partial` is null or disagrees with where it is stored. */
  problem: string | null;
}

const KEY_PREFIX = surveyHashKey('');
const SCAN_COUNT = 1000;

/** Every live partial (of one survey when `surveyId` is given, of one partition when `partition` is). */
export async function loadLivePartials(redis: Redis, filter: { surveyId?: string; partition?: number }): Promise<LivePartial[]> {
  const keys = filter.surveyId !== undefined ? [surveyHashKey(filter.surveyId)] : await scanSurveyKeys(redis);
  const partials: LivePartial[] = [];
  for (let i = 0; i < keys.length; i += SCAN_COUNT) {
    const chunk = keys.slice(i, i + SCAN_COUNT);
    const pipeline = redis.pipeline();
    for (const key of chunk) pipeline.hgetall(key);
    const results = (await pipeline.exec()) ?? [];
    chunk.forEach((key, index) => {
      const [error, fields] = results[index] ?? [new Error('no reply'), null];
      if (error) throw error;
      for (const [field, json] of Object.entries(fields as Record<string, string>)) {
        const partition = Number(field);
        if (filter.partition !== undefined && partition !== filter.partition) continue;
        partials.push(parsePartial(key.slice(KEY_PREFIX.length), field, json));
      }
    });
  }
  return partials;
}

async function scanSurveyKeys(redis: Redis): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', SCAN_COUNT);
    for (const key of batch) keys.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...keys].sort();
}

function parsePartial(surveyId: string, field: string, json: string): LivePartial {
  const partition = Number(field);
  const unreadable = (problem: string): LivePartial => ({ surveyId, partition, partial: null, problem });
  if (!Number.isInteger(partition) || partition < 0) return unreadable(`field ${JSON.stringify(field)} is not a partition number`);
  let partial: SurveyPartial;
  try {
    partial = JSON.parse(json) as SurveyPartial;
  } catch {
    return unreadable('value is not JSON');
  }
  if (typeof partial !== 'object' || partial === null) return unreadable('value is not a SurveyPartial object');
  if (typeof partial.nextOffset !== 'string' || !/^\d+$/.test(partial.nextOffset)) {
    return unreadable(`nextOffset ${JSON.stringify(partial.nextOffset)} is not a decimal offset`);
  }
  if (partial.surveyId !== surveyId) return { surveyId, partition, partial, problem: `stored under survey ${surveyId} but says survey ${partial.surveyId}` };
  if (partial.partition !== partition) return { surveyId, partition, partial, problem: `stored under partition ${partition} but says partition ${partial.partition}` };
  return { surveyId, partition, partial, problem: null };
}

/** Whether each (survey, partition) has a live partial right now. */
export async function livePartialsExist(redis: Redis, wanted: { surveyId: string; partition: number }[]): Promise<boolean[]> {
  const pipeline = redis.pipeline();
  for (const { surveyId, partition } of wanted) pipeline.hexists(surveyHashKey(surveyId), String(partition));
  const results = (await pipeline.exec()) ?? [];
  return wanted.map((_, index) => {
    const [error, exists] = results[index] ?? [new Error('no reply'), 0];
    if (error) throw error;
    return exists === 1;
  });
}

/**
 * Partition → the next offset the aggregator says its store reached (its status hash, written after
 * the partials of each durable write). Unreadable entries are left out: they prove nothing.
 */
export async function loadStorePositions(redis: Redis, topic: string): Promise<Map<number, number>> {
  const positions = new Map<number, number>();
  for (const [field, json] of Object.entries(await redis.hgetall(partitionStatusKey(topic)))) {
    try {
      const status = JSON.parse(json) as PartitionStatus;
      const partition = Number(field);
      if (Number.isInteger(partition) && partition >= 0 && /^\d+$/.test(String(status.nextOffset))) positions.set(partition, Number(status.nextOffset));
    } catch {
      // not JSON: ignored
    }
  }
  return positions;
}
