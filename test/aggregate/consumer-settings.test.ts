import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { isTallyError } from '../../src/errors.js';
import { consumerSettings } from '../../src/aggregate/consumer-settings.js';

test('the session is 6 s by default (the broker default minimum), heartbeats every second', () => {
  const settings = consumerSettings(loadConfig({}));
  assert.equal(settings.sessionTimeout, 6000);
  assert.equal(settings.heartbeatInterval, 1000);
});

test('a shorter session can be asked for; heartbeats stay at most a third of it', () => {
  const three = consumerSettings(loadConfig({ TALLY_AGGREGATE_SESSION_TIMEOUT_MS: '3000' }));
  assert.deepEqual([three.sessionTimeout, three.heartbeatInterval], [3000, 1000]);
  const two = consumerSettings(loadConfig({ TALLY_AGGREGATE_SESSION_TIMEOUT_MS: '2000' }));
  assert.deepEqual([two.sessionTimeout, two.heartbeatInterval], [2000, 666]);
  assert.throws(() => loadConfig({ TALLY_AGGREGATE_SESSION_TIMEOUT_MS: '500' }), (error) => isTallyError(error, 'TALLY_ERR_CONFIG') && /TALLY_AGGREGATE_SESSION_TIMEOUT_MS="500" must be ≥ 1000/.test(error.message));
});
