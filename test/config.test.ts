import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.js';
import { isTallyError } from '../src/errors.js';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(isTallyError(error, 'TALLY_ERR_CONFIG'));
    return error.message;
  }
  assert.fail('expected a configuration error');
}

test('defaults point at the local stack', () => {
  const config = loadConfig({});
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
  assert.equal(config.registryUrl, 'http://127.0.0.1:8081/apis/ccompat/v7');
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(config.kafka.votesTopic, 'votes');
});

test('a broker list is parsed and trimmed', () => {
  assert.deepEqual(loadConfig({ TALLY_KAFKA_BROKERS: 'a:9092, b:9093' }).kafka.brokers, ['a:9092', 'b:9093']);
});

test('an unparsable broker list names the variable', () => {
  assert.match(configError({ TALLY_KAFKA_BROKERS: 'not a broker;;' }), /TALLY_KAFKA_BROKERS="not a broker;;" must be a comma-separated list of host:port/);
});

test('a non-numeric port names the variable', () => {
  assert.match(configError({ TALLY_INGEST_PORT: 'eighty' }), /TALLY_INGEST_PORT="eighty" must be a number/);
});

test('every bad variable is reported at once', () => {
  const message = configError({ TALLY_BROADCAST_PORT: '70000', TALLY_REDIS_URL: 'http://x', TALLY_WINDOW_MS: '-5' });
  assert.match(message, /TALLY_BROADCAST_PORT/);
  assert.match(message, /TALLY_REDIS_URL/);
  assert.match(message, /TALLY_WINDOW_MS/);
});

test('production refuses the public development secrets', () => {
  assert.match(configError({ TALLY_ENV: 'production' }), /TALLY_ADMIN_SECRET, TALLY_VOTER_SECRET, TALLY_VOTER_HMAC_SECRET must be set in production/);
  const secrets = { TALLY_ADMIN_SECRET: 'a'.repeat(32), TALLY_VOTER_SECRET: 'b'.repeat(32), TALLY_VOTER_HMAC_SECRET: 'c'.repeat(32) };
  assert.equal(loadConfig({ TALLY_ENV: 'production', ...secrets }).env, 'production');
});
