// The contract between aggregate (writer), broadcast (reader) and verify (checker):
// one partition's absolute tallies of one survey, published to Redis after every durable write.
//
// Redis layout:
//   HASH  tally:survey:<surveyId>   field <partition> → JSON SurveyPartial (absolute values)
//   PUBSUB channel tally:updates    message = the same JSON, so subscribers need no read-back
// Values are absolute, never increments, so republishing is harmless; the Lua script below only
// replaces a partial with one of a higher nextOffset, so a late or zombie writer cannot go back.
import { createHash } from 'node:crypto';
import { setOwn } from './own-keys.js';

export interface OptionCounts {
  /** question id → option id → votes */
  [questionId: string]: { [optionId: string]: number };
}

export interface RegionTally {
  responses: number;
  votes: OptionCounts;
}

export interface SurveyPartial {
  surveyId: string;
  partition: number;
  /** Next offset to read in this partition: every record below it is included. Decimal string (int64). */
  nextOffset: string;
  /** Distinct voters with at least one counted answer. */
  responses: number;
  votes: OptionCounts;
  /** Per region (votes without a region are not listed here). */
  regions: { [region: string]: RegionTally };
  /** Accepted vote events per event-time minute (epoch minute → count), recent minutes only. */
  minutes: { [epochMinute: string]: number };
  /** castAt of the newest counted vote (epoch ms), for vote-to-snapshot latency. */
  lastCastAt: number;
  /** When the durable write that produced this partial finished (epoch ms). */
  writtenAt: number;
}

export const UPDATES_CHANNEL = 'tally:updates';
export const surveyHashKey = (surveyId: string): string => `tally:survey:${surveyId}`;
/** How many recent event-time minutes a partial carries. */
export const RECENT_MINUTES = 60;

/**
 * KEYS[1] = survey hash, ARGV[1] = partition, ARGV[2] = nextOffset, ARGV[3] = partial JSON, ARGV[4] = channel.
 * Stores and publishes only if newer than what is stored. Offsets fit in a double for any real log.
 */
export const PUBLISH_IF_NEWER_LUA = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local stored = tonumber(cjson.decode(current).nextOffset)
  if stored and stored >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 1
`;

function sortedObject<T>(record: Record<string, T>, mapValue: (value: T) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) setOwn(out, key, mapValue(record[key] as T));
  return out;
}

function canonicalCounts(counts: OptionCounts): Record<string, unknown> {
  return sortedObject(counts, (options) => sortedObject(options, (n) => n));
}

/**
 * The digest stored in audit checkpoints: SHA-256 (hex) of the canonical JSON of a partition's
 * counts for every survey (responses, votes, per-region), keys sorted. Offsets, timestamps and
 * minute buckets are excluded, so aggregate and verify can compute it from their own state.
 */
export function talliesDigest(partials: Iterable<Pick<SurveyPartial, 'surveyId' | 'responses' | 'votes' | 'regions'>>): string {
  const bySurvey: Record<string, unknown> = {};
  const list = [...partials].sort((a, b) => (a.surveyId < b.surveyId ? -1 : a.surveyId > b.surveyId ? 1 : 0));
  for (const partial of list) {
    setOwn(bySurvey, partial.surveyId, {
      responses: partial.responses,
      votes: canonicalCounts(partial.votes),
      regions: sortedObject(partial.regions, (region) => ({ responses: region.responses, votes: canonicalCounts(region.votes) })),
    });
  }
  return createHash('sha256').update(JSON.stringify(bySurvey)).digest('hex');
}
