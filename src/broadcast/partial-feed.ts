// Fan-in from Redis: the aggregator's per-partition partials (src/partition-tally.ts) for the
// surveys this process serves. A subscription to `tally:updates` delivers every new partial; a
// survey's stored partials are read once (HGETALL) when it is first tracked, and again after a
// reconnect, because pub/sub does not replay what was missed. A partial only replaces one with a
// lower nextOffset, so messages and reads may arrive in any order.
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { UPDATES_CHANNEL, surveyHashKey, type SurveyPartial } from '../partition-tally.js';

type Partials = Map<number, SurveyPartial>;

export class PartialFeed {
  private readonly reader: Redis;
  private readonly subscriber: Redis;
  private readonly tracked = new Map<string, Partials>();
  private readonly loading = new Map<string, Promise<void>>();
  private subscribedOnce = false;

  /** `onChange` runs (synchronously) whenever a tracked survey's partials get newer. */
  constructor(
    redisUrl: string,
    private readonly logger: Logger,
    private readonly onChange: (surveyId: string) => void,
  ) {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.reader = new Redis(redisUrl, { ...options, connectionName: 'tally-broadcast-reader' });
    this.subscriber = new Redis(redisUrl, { ...options, connectionName: 'tally-broadcast-feed' });
    for (const client of [this.reader, this.subscriber]) {
      client.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'redis connection error'));
    }
    this.subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    this.subscriber.on('ready', () => {
      // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is read back.
      if (this.subscribedOnce) void this.reloadAll();
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.reader.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(UPDATES_CHANNEL);
    this.subscribedOnce = true;
  }

  /** Starts following a survey (idempotent); resolves once its stored partials are loaded. */
  track(surveyId: string): Promise<void> {
    const pending = this.loading.get(surveyId);
    if (pending) return pending;
    if (this.tracked.has(surveyId)) return Promise.resolve();
    // Registered before the read, so messages that race with it are kept (newest offset wins).
    this.tracked.set(surveyId, new Map());
    const load = this.load(surveyId).finally(() => this.loading.delete(surveyId));
    load.catch(() => this.tracked.delete(surveyId));
    this.loading.set(surveyId, load);
    return load;
  }

  untrack(surveyId: string): void {
    this.tracked.delete(surveyId);
  }

  partials(surveyId: string): Iterable<SurveyPartial> {
    return this.tracked.get(surveyId)?.values() ?? [];
  }

  async ping(): Promise<boolean> {
    return (await this.reader.ping()) === 'PONG' && this.subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.subscriber.quit(), this.reader.quit()]);
  }

  private async load(surveyId: string): Promise<void> {
    const stored = await this.reader.hgetall(surveyHashKey(surveyId));
    for (const json of Object.values(stored)) this.onMessage(json);
  }

  private async reloadAll(): Promise<void> {
    const surveys = [...this.tracked.keys()];
    this.logger.info({ surveys: surveys.length }, 'redis feed reconnected: reloading tracked surveys');
    await Promise.all(surveys.map((surveyId) => this.load(surveyId).catch((error: Error) => this.logger.warn({ surveyId, err: error.message }, 'reload failed'))));
  }

  private onMessage(message: string): void {
    try {
      this.accept(message);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'ignoring an unreadable partial');
    }
  }

  /** Keeps the partial if its survey is tracked and it is newer than what is held. */
  private accept(json: string): void {
    const partial = JSON.parse(json) as SurveyPartial;
    const partials = this.tracked.get(partial.surveyId);
    if (!partials) return;
    const held = partials.get(partial.partition);
    if (held && BigInt(held.nextOffset) >= BigInt(partial.nextOffset)) return;
    partials.set(partial.partition, partial);
    this.onChange(partial.surveyId);
  }
}
