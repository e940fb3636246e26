// Integration: Kafka, registry
// Schema evolution: a record written with an older registered version of the vote schema (fewer
// fields) still decodes with VoteCodec / VoteDecoder, after ingest registered the current one
// under the same subject; and the registry refuses an incompatible change (BACKWARD, set by the
// registry client on the subject's first registration).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import confluent from '@kafkajs/confluent-schema-registry';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { VoteCodec, VoteDecoder, voteSchemaJson } from '../../src/vote-codec.js';
import { testConfig } from '../support/test-config.js';
import { createTestTopics, deleteTestTopics } from '../support/test-topics.js';
import { consumeVotes } from './support/ingest-harness.js';

const config = testConfig('ingest-schema');
const logger = createLogger('test', config);
const v0Json = readFileSync(new URL('../../../test/ingest/fixtures/vote-cast-v0.avsc', import.meta.url), 'utf8');

/** The Confluent wire format written by hand with the old schema, as an old producer would. */
function encodeWithV0(schemaId: number, vote: object): Buffer {
  const payload = avro.Type.forSchema(JSON.parse(v0Json)).toBuffer(vote);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

after(() => deleteTestTopics(config));

test('a record written with an older schema version decodes with the current reader', async () => {
  const codec = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
  const { id: v0Id } = await codec.registry.register({ type: confluent.SchemaType.AVRO, schema: v0Json }, { subject: codec.subject });
  const currentId = await codec.register();
  assert.notEqual(currentId, v0Id, 'two versions under one subject');

  const old = { voteId: 'v0-vote', surveyId: '7', voterId: 'ab12', answers: { '1': ['2', '3'] }, castAt: 1_700_000_000_000 };
  const record = encodeWithV0(v0Id, old);

  // Through Kafka, decoded by a fresh codec that fetches the writer schema by id from the registry.
  const kafka = createKafka(config, 'test-schema', logger);
  await createTestTopics(config);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: config.kafka.votesTopic, acks: -1, messages: [{ key: old.surveyId, value: record }] });
  await producer.disconnect();
  const [consumed] = await consumeVotes(config, 1);
  assert.deepEqual({ ...consumed!.vote, answers: { ...consumed!.vote.answers } }, { ...old, region: null });

  // The synchronous decoder (worker threads) given both writer schemas by id.
  const decoder = new VoteDecoder();
  decoder.addWriterSchema(v0Id, v0Json);
  decoder.addWriterSchema(currentId, voteSchemaJson);
  assert.equal(decoder.decode(record).region, null);
  const current = codec.encode({ ...old, voteId: 'v1-vote', region: 'EU' });
  assert.equal(decoder.decode(current).region, 'EU');
  assert.throws(() => new VoteDecoder().decode(record), /unknown writer schema id/);
});

test('the registry refuses an incompatible vote schema under the same subject', async () => {
  const codec = new VoteCodec(config.registryUrl, config.kafka.votesTopic);
  await codec.register();
  const incompatible = JSON.parse(voteSchemaJson);
  incompatible.fields.push({ name: 'weight', type: 'int' }); // new field without a default: old records unreadable
  await assert.rejects(codec.registry.register({ type: confluent.SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject: codec.subject }), (error: { status?: number; message: string }) => {
    assert.equal(error.status, 409);
    assert.match(error.message, /incompatible/i);
    return true;
  });
});
