// Integration: Kafka, registry, PostgreSQL, Redis
// `tally ingest` as a process would run it: start(config) listens, is ready, takes a vote over
// HTTP, and closes gracefully (twice is fine). Extra plugins can be registered before listening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, startIngest } from '../../src/ingest/ingest-role.js';
import { mintToken } from '../../src/ingest/tokens.js';
import { testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';
import { sampleSurvey } from './support/ingest-harness.js';

test('start() serves the API on the configured port and closes gracefully', async () => {
  const config = testConfig('ingest-role');
  const running = await start(config);
  try {
    const base = running.addresses[0]!;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    const admin = { authorization: `Bearer ${mintToken(config, { kind: 'admin' }, 60)}`, 'content-type': 'application/json' };
    const survey = (await (await fetch(`${base}/v1/internal/surveys`, { method: 'POST', headers: admin, body: JSON.stringify(sampleSurvey()) })).json()) as {
      id: string;
      questions: { id: string; options: { id: string }[] }[];
    };
    assert.equal((await fetch(`${base}/v1/internal/surveys/${survey.id}/publish`, { method: 'PUT', headers: { authorization: admin.authorization } })).status, 200);
    const q = survey.questions[1]!;
    const voted = await fetch(`${base}/v1/surveys/${survey.id}/votes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mintToken(config, { kind: 'voter', voterId: 'role-voter' }, 60)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ answers: { [q.id]: [q.options[0]!.id] } }),
    });
    assert.equal(voted.status, 202);
    assert.equal(((await voted.json()) as { offset: string }).offset, '0');
  } finally {
    await running.close();
    await running.close();
    await deleteTestTopics(config);
  }
});

test('startIngest registers extra route plugins before listening', async () => {
  const config = testConfig('ingest-plugins');
  const running = await startIngest(config, {
    plugins: [
      async (app) => {
        app.get('/v1/audit/checkpoints', async () => ({ checkpoints: [] }));
      },
    ],
  });
  try {
    const response = await fetch(`${running.addresses[0]}/v1/audit/checkpoints`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { checkpoints: [] });
  } finally {
    await running.close();
    await deleteTestTopics(config);
  }
});
