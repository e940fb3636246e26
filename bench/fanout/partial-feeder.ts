// Stands in for the aggregator in `fanout`: writes partial tallies to Redis exactly as the
// aggregator does (PUBLISH_IF_NEWER_LUA: HASH + pub/sub), so the broadcaster is measured alone.
// Each tick changes ONE partition of each survey, so one tick = one new state = one snapshot id
// in every broadcaster process (with ticks ≥ 2 windows apart, every process sends each id once).
import { Redis } from 'ioredis';
import { PUBLISH_IF_NEWER_LUA, UPDATES_CHANNEL, surveyHashKey, type SurveyPartial } from '../../src/partition-tally.js';
import type { BenchSurvey } from '../lib/survey-setup.js';
import { Prng } from '../lib/prng.js';

type PublishingRedis = Redis & { publishIfNewer(key: string, partition: number, nextOffset: string, json: string, channel: string): Promise<number> };

export class PartialFeeder {
  private readonly redis: PublishingRedis;
  private readonly partials: SurveyPartial[][];
  private readonly prng = new Prng(99);
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  /** epoch ms of each tick, for the report */
  readonly ticks: number[] = [];

  constructor(
    redisUrl: string,
    private readonly surveys: BenchSurvey[],
    private readonly partitions: number,
  ) {
    this.redis = new Redis(redisUrl, { lazyConnect: true }) as PublishingRedis;
    this.redis.defineCommand('publishIfNewer', { numberOfKeys: 1, lua: PUBLISH_IF_NEWER_LUA });
    this.partials = surveys.map((survey) =>
      Array.from({ length: partitions }, (_, partition) => ({
        surveyId: survey.id,
        partition,
        nextOffset: '0',
        responses: 0,
        votes: Object.fromEntries(survey.questions.map((q) => [q.id, {}])),
        regions: {},
        minutes: {},
        lastCastAt: 0,
        writtenAt: 0,
      })),
    );
  }

  /** The sum of responses over the partitions of survey `index` (what its last snapshot must show). */
  totalResponses(index: number): number {
    return this.partials[index]!.reduce((sum, p) => sum + p.responses, 0);
  }

  async start(intervalMs: number): Promise<void> {
    await this.redis.connect();
    // Every partition once, so the first snapshot already has every partition.
    for (let p = 0; p < this.partitions; p++) await this.feed(p);
    this.timer = setInterval(() => void this.feed(this.tick % this.partitions).catch(() => undefined), intervalMs);
  }

  private async feed(partition: number): Promise<void> {
    this.tick += 1;
    const now = Date.now();
    this.ticks.push(now);
    const pipeline = this.redis.pipeline() as unknown as { publishIfNewer(...args: unknown[]): void; exec(): Promise<unknown> };
    this.surveys.forEach((survey, i) => {
      const partial = this.partials[i]![partition]!;
      const added = 1 + this.prng.int(200);
      partial.nextOffset = String(Number(partial.nextOffset) + added);
      partial.responses += added;
      for (const question of survey.questions) {
        const option = question.options[this.prng.int(question.options.length)]!;
        partial.votes[question.id]![option] = (partial.votes[question.id]![option] ?? 0) + added;
      }
      const minute = String(Math.floor(now / 60_000));
      partial.minutes = { [minute]: (partial.minutes[minute] ?? 0) + added };
      partial.lastCastAt = now;
      partial.writtenAt = now;
      pipeline.publishIfNewer(surveyHashKey(survey.id), partition, partial.nextOffset, JSON.stringify(partial), UPDATES_CHANNEL);
    });
    await pipeline.exec();
  }

  async stop(removeKeys: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (removeKeys && this.redis.status === 'ready') await this.redis.del(...this.surveys.map((s) => surveyHashKey(s.id))).catch(() => undefined);
    this.redis.disconnect();
  }
}
