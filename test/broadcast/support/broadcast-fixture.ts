// The set-up every broadcaster test shares: its own config (window, limits), a pool and a Redis
// client on the real stack, one survey in PostgreSQL, an in-process broadcast server, and the SSE
// streams the test opened; tearDown() undoes all of it.
//
//   const fx = broadcastFixture('broadcast-stream', { TALLY_WINDOW_MS: '200' });
//   before(() => fx.setUp('Stream test', [{ title: 'Pick one', options: ['Red', 'Blue'] }]));
//   after(() => fx.tearDown());
import { Redis } from 'ioredis';
import type { TallyConfig } from '../../../src/config.js';
import { createPool, type Pool } from '../../../src/db/postgres.js';
import { startBroadcastServer, type RunningBroadcastServer } from '../../../src/broadcast/broadcast-server.js';
import { testConfig } from '../../support/test-config.js';
import { openSse, type SseStream } from './sse-client.js';
import { createSurvey, deleteSurvey, type CreatedSurvey } from './survey-fixtures.js';

export type SurveySpec = Parameters<typeof createSurvey>[2];

export interface BroadcastFixture {
  readonly config: TallyConfig;
  readonly pool: Pool;
  readonly redis: Redis;
  /** Set by setUp(). */
  readonly survey: CreatedSurvey;
  /** Set by setUp() (or startServer()). */
  readonly server: RunningBroadcastServer;
  /** http://127.0.0.1:<port><path> on the running server. */
  url(path: string): string;
  /** `/v1/surveys/<survey>/results/stream` */
  readonly streamPath: string;
  /**
   * Creates the survey, then (unless `startServer: false`: the test writes partials first and calls
   * startServer() itself) starts the server.
   */
  setUp(title: string, questions: SurveySpec, options?: { startServer?: boolean }): Promise<void>;
  /** Another survey of the test, deleted at tearDown() like the first. */
  addSurvey(title: string, questions: SurveySpec): Promise<CreatedSurvey>;
  /** Starts (or restarts, e.g. on the same port) the broadcast server. */
  startServer(config?: TallyConfig): Promise<RunningBroadcastServer>;
  /** Opens an SSE stream (default: the survey's) and closes it at tearDown(). */
  openStream(options?: { path?: string; headers?: Record<string, string>; localAddress?: string }): Promise<SseStream>;
  /** Every stream opened through openStream(), in order. */
  readonly streams: readonly SseStream[];
  tearDown(): Promise<void>;
}

export function broadcastFixture(name: string, env: Record<string, string> = {}): BroadcastFixture {
  const config = testConfig(name, env);
  const pool = createPool(config.postgres.url, 2);
  const redis = new Redis(config.redisUrl);
  const streams: SseStream[] = [];
  const surveys: CreatedSurvey[] = [];
  let survey: CreatedSurvey | undefined;
  let server: RunningBroadcastServer | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`broadcast fixture: ${what} before setUp()`);
    return value;
  };
  const fixture: BroadcastFixture = {
    config,
    pool,
    redis,
    get survey() {
      return need(survey, 'survey');
    },
    get server() {
      return need(server, 'server');
    },
    url: (path) => `http://127.0.0.1:${need(server, 'url()').port}${path}`,
    get streamPath() {
      return `/v1/surveys/${need(survey, 'streamPath').id}/results/stream`;
    },
    streams,
    async setUp(title, questions, options = {}) {
      survey = await fixture.addSurvey(title, questions);
      if (options.startServer !== false) await fixture.startServer();
    },
    async addSurvey(title, questions) {
      const created = await createSurvey(pool, title, questions);
      surveys.push(created);
      return created;
    },
    async startServer(serverConfig = config) {
      server = await startBroadcastServer(serverConfig);
      return server;
    },
    async openStream(options = {}) {
      const stream = await openSse(fixture.url(options.path ?? fixture.streamPath), { headers: options.headers, localAddress: options.localAddress });
      streams.push(stream);
      return stream;
    },
    async tearDown() {
      for (const stream of streams) stream.close();
      await server?.close();
      for (const created of surveys) await deleteSurvey(pool, redis, created.id);
      await pool.end();
      redis.disconnect();
    },
  };
  return fixture;
}
