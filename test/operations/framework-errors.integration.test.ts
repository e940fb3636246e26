// Integration: Kafka, registry, PostgreSQL, Redis
// Every role's real server (ingest, broadcast, and aggregate's metrics server) answers the
// refusals Fastify and Node's HTTP parser make before any route runs (bad percent-encoding, a path
// parameter over 100 characters, oversized headers or query, malformed requests) in the project's
// error format, through the shared src/role-server.ts. Before issue 11 they answered in Fastify's
// shape ({ error, message, statusCode }) or with an empty body.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { start as startAggregate } from '../../src/aggregate/aggregate-role.js';
import { start as startBroadcast } from '../../src/broadcast/broadcast-role.js';
import { start as startIngest } from '../../src/ingest/ingest-role.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import type { RunningRole } from '../../src/role.js';
import { frameworkRefusals, rawRequest } from '../support/raw-http.js';
import { testConfig } from '../support/test-config.js';

const config = testConfig('framework-errors', { TALLY_VOTES_PARTITIONS: '1', TALLY_BROADCAST_TARGET_CLIENTS: '1000' });
const roles: { name: string; running: RunningRole; paramPath: ((param: string) => string) | null }[] = [];

before(async () => {
  roles.push({ name: 'ingest', running: await startIngest(config), paramPath: (id) => `/v1/surveys/${id}` });
  roles.push({ name: 'broadcast', running: await startBroadcast(config), paramPath: (id) => `/v1/surveys/${id}/results` });
  roles.push({ name: 'aggregate', running: await startAggregate(config), paramPath: null });
});

after(async () => {
  for (const role of roles.reverse()) await role.running.close();
  const admin = createKafka(config, 'test-cleanup', createLogger('test', config)).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] }).catch(() => undefined);
  await admin.disconnect();
});

const portOf = (role: RunningRole) => Number(new URL(role.addresses[0]!.split(' ')[0]!).port);

for (const name of ['ingest', 'broadcast', 'aggregate']) {
  test(`${name}: the framework's refusals answer { code, message } with the catalogue's status`, async () => {
    const role = roles.find((r) => r.name === name)!;
    const cases = frameworkRefusals(role.paramPath ?? ((param) => `/${param}`)).filter((c) => role.paramPath !== null || c.code !== 'TALLY_ERR_PATH_TOO_LONG');
    for (const refusal of cases) {
      const answer = await rawRequest(portOf(role.running), refusal.request);
      assert.equal(answer.status, refusal.status, `${refusal.name}: ${answer.status} ${answer.body}`);
      const body = JSON.parse(answer.body) as { code: string; message: string };
      assert.equal(body.code, refusal.code, refusal.name);
      assert.ok(body.message.length > 0, refusal.name);
    }
  });
}
