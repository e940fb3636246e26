// PartialPublisher on Redis (src/partition-tally.ts): all surveys of one batch in one pipelined
// round trip, each through PUBLISH_IF_NEWER_LUA (EVALSHA via ioredis defineCommand), so a late or
// zombie writer can never move a partial back. The same round trip records the partition's status
// for `tally lag` (owner, offset, batch time).
import { Redis } from 'ioredis';
import { PUBLISH_IF_NEWER_LUA, UPDATES_CHANNEL, surveyHashKey } from '../partition-tally.js';
import { partitionStatusKey, type PartialPublisher, type PartitionStatus } from './partial-publisher.js';

type PublishingRedis = Redis & {
  publishIfNewer(key: string, partition: string, nextOffset: string, partialJson: string, channel: string): Promise<number>;
};

export class RedisPartialPublisher implements PartialPublisher {
  private readonly redis: PublishingRedis;

  constructor(
    redisUrl: string,
    private readonly topic: string,
    private readonly instance: string,
    private readonly topicId?: string,
  ) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 20, enableAutoPipelining: false });
    redis.defineCommand('publishIfNewer', { numberOfKeys: 1, lua: PUBLISH_IF_NEWER_LUA });
    this.redis = redis as PublishingRedis;
  }

  async publish(partition: number, nextOffset: string, writtenAt: number, partials: ReadonlyArray<readonly [string, string]>): Promise<void> {
    const pipeline = this.redis.pipeline() as unknown as PublishingRedis & { exec(): Promise<Array<[Error | null, unknown]> | null> };
    const field = String(partition);
    for (const [surveyId, json] of partials) pipeline.publishIfNewer(surveyHashKey(surveyId), field, nextOffset, json, UPDATES_CHANNEL);
    const status: PartitionStatus = { instance: this.instance, nextOffset, writtenAt, ...(this.topicId === undefined ? {} : { topicId: this.topicId }) };
    pipeline.hset(partitionStatusKey(this.topic), field, JSON.stringify(status));
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async status(partition: number): Promise<PartitionStatus | null> {
    const json = await this.redis.hget(partitionStatusKey(this.topic), String(partition));
    return json === null ? null : (JSON.parse(json) as PartitionStatus);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
