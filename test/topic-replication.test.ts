import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.js';
import { isTallyError } from '../src/errors.js';
import { topicReplication } from '../src/topic-replication.js';

const kafka = (env: Record<string, string> = {}) => loadConfig(env).kafka;

test('by default a topic gets min(3, brokers) replicas, and 2 in sync when there are 3', () => {
  assert.deepEqual(topicReplication(1, kafka()), { replicationFactor: 1, minInsyncReplicas: 1 });
  assert.deepEqual(topicReplication(2, kafka()), { replicationFactor: 2, minInsyncReplicas: 1 });
  assert.deepEqual(topicReplication(3, kafka()), { replicationFactor: 3, minInsyncReplicas: 2 });
  assert.deepEqual(topicReplication(5, kafka()), { replicationFactor: 3, minInsyncReplicas: 2 });
});

test('the replication factor and min.insync.replicas can be set', () => {
  assert.deepEqual(topicReplication(5, kafka({ TALLY_KAFKA_REPLICATION_FACTOR: '5', TALLY_KAFKA_MIN_INSYNC_REPLICAS: '3' })), { replicationFactor: 5, minInsyncReplicas: 3 });
  assert.deepEqual(topicReplication(3, kafka({ TALLY_KAFKA_MIN_INSYNC_REPLICAS: '1' })), { replicationFactor: 3, minInsyncReplicas: 1 });
});

test('more replicas than brokers is refused, naming the variable and the cluster size', () => {
  assert.throws(
    () => topicReplication(1, kafka({ TALLY_KAFKA_REPLICATION_FACTOR: '3' })),
    (error) => isTallyError(error, 'TALLY_ERR_CONFIG') && /TALLY_KAFKA_REPLICATION_FACTOR=3 but the cluster has 1 broker:/.test(error.message),
  );
  assert.throws(
    () => topicReplication(1, kafka({ TALLY_KAFKA_MIN_INSYNC_REPLICAS: '2' })),
    (error) => isTallyError(error, 'TALLY_ERR_CONFIG') && /TALLY_KAFKA_MIN_INSYNC_REPLICAS=2 is above the replication factor 1/.test(error.message),
  );
});

test('min.insync.replicas above the replication factor is a configuration error at start-up', () => {
  assert.throws(
    () => loadConfig({ TALLY_KAFKA_REPLICATION_FACTOR: '2', TALLY_KAFKA_MIN_INSYNC_REPLICAS: '3' }),
    (error) => isTallyError(error, 'TALLY_ERR_CONFIG') && /TALLY_KAFKA_MIN_INSYNC_REPLICAS=3 must be ≤ TALLY_KAFKA_REPLICATION_FACTOR=2/.test(error.message),
  );
  assert.throws(() => loadConfig({ TALLY_KAFKA_REPLICATION_FACTOR: '0' }), (error) => isTallyError(error, 'TALLY_ERR_CONFIG') && /TALLY_KAFKA_REPLICATION_FACTOR="0"/.test(error.message));
});
