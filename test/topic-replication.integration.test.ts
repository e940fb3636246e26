// Integration: Kafka (the single broker of the stack; the 3-node cluster of `stack/stack.sh up --brokers 3` when it is up)
// Topics are created with the replication the cluster's size calls for: one copy on the single
// development broker; three copies and min.insync.replicas 2 on the 3-node cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import kafkajs from 'kafkajs';
import { createKafka, ensureTopics } from '../src/kafka.js';
import { createLogger } from '../src/logger.js';
import type { TallyConfig } from '../src/config.js';
import { testConfig } from './support/test-config.js';
import { deleteTestTopics } from './support/test-topics.js';

const { ConfigResourceTypes } = kafkajs;
const THREE_NODES = '127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function createdReplication(config: TallyConfig): Promise<{ replicas: number[]; minInsync: string | undefined }> {
  const admin = createKafka(config, 'replication-test', createLogger('test', config)).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config);
    const meta = await admin.fetchTopicMetadata({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: config.kafka.votesTopic, configNames: ['min.insync.replicas'] }],
    });
    return {
      replicas: meta.topics.flatMap((topic) => topic.partitions.map((partition) => partition.replicas.length)),
      minInsync: described.resources[0]!.configEntries.find((entry) => entry.configName === 'min.insync.replicas')?.configValue,
    };
  } finally {
    await deleteTestTopics(config, admin);
    await admin.disconnect();
  }
}

test('on the single broker, topics get one replica and min.insync.replicas 1', async () => {
  const { replicas, minInsync } = await createdReplication(testConfig('replication-1'));
  assert.ok(replicas.length > 0 && replicas.every((n) => n === 1), `replicas per partition: ${replicas.join(',')}`);
  assert.equal(minInsync, '1');
});

test('on the 3-node cluster, topics get three replicas and min.insync.replicas 2', async (t) => {
  if (!(await portOpen(19092))) {
    t.skip('the 3-node cluster is not up (npm run stack -- up --brokers 3)');
    return;
  }
  const { replicas, minInsync } = await createdReplication(testConfig('replication-3', { TALLY_KAFKA_BROKERS: THREE_NODES }));
  assert.ok(replicas.length > 0 && replicas.every((n) => n === 3), `replicas per partition: ${replicas.join(',')}`);
  assert.equal(minInsync, '2');
});
