// The one-vote claim keys a bench run leaves in Redis (tally:voted:{voter}:<survey>:<question>, 7-day
// TTL: about three per accepted vote). They are deleted with the run's surveys: left behind, a few
// runs put millions of keys into the shared Redis, and tests that read claims with KEYS slowed from
// milliseconds to tens of seconds.
import { Redis } from 'ioredis';

const SCAN_COUNT = 10_000;

/** Deletes the claim keys of `surveyIds`; returns how many were deleted. One SCAN pass over tally:voted:*. */
export async function deleteClaimKeys(redisUrl: string, surveyIds: string[]): Promise<number> {
  if (surveyIds.length === 0) return 0;
  const surveys = new Set(surveyIds);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'tally:voted:*', 'COUNT', SCAN_COUNT);
      cursor = next;
      const doomed = keys.filter((key) => {
        const from = key.indexOf('}:') + 2; // after the {voter} hash tag
        return from > 1 && surveys.has(key.slice(from, key.indexOf(':', from)));
      });
      if (doomed.length > 0) deleted += await redis.unlink(...doomed);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
