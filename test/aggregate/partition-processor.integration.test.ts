// Integration: Redis
// The batch path of one partition without Kafka (real RocksDB and Redis): redelivered records
// are skipped, a batch starting past the stored offset is refused, one-vote rules hold across
// batches, and a reopened partition continues from its stored state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { surveyHashKey } from '../../src/partition-tally.js';
import { VoteDecoder, voteSchemaJson, VoteCodec, type VoteCast } from '../../src/vote-codec.js';
import { packBatch, type KafkaRecordLike } from '../../src/aggregate/packed-batch.js';
import { PartitionProcessor, type ProcessorContext } from '../../src/aggregate/partition-processor.js';
import { TallyPublisher, partitionStatusKey } from '../../src/aggregate/tally-publisher.js';
import { WriterSchemas } from '../../src/aggregate/writer-schemas.js';
import { testConfig } from '../support/test-config.js';

const config = testConfig('processor');
const topic = config.kafka.votesTopic;
const surveyId = `processor-${Date.now()}`;
const SCHEMA_ID = 1;

function contextFor(publisher: TallyPublisher): ProcessorContext {
  const decoder = new VoteDecoder();
  decoder.addWriterSchema(SCHEMA_ID, voteSchemaJson);
  return { topic, partition: 0, checkpointEvery: 4, decoder, schemas: new WriterSchemas(config.registryUrl, decoder), publisher };
}

function records(codec: { encode(vote: VoteCast): Buffer }, from: number, votes: Array<[voter: string, question: string, option: string]>): KafkaRecordLike[] {
  return votes.map(([voterId, question, option], i) => ({
    offset: String(from + i),
    key: Buffer.from(surveyId),
    value: codec.encode({ voteId: `v${from + i}`, surveyId, voterId, answers: { [question]: [option] }, region: 'EU', castAt: 1_700_000_000_000 }),
  }));
}

test('skips redelivered records, refuses gaps, counts each voter once, reopens where it stopped', async () => {
  const codec = new VoteCodec(config.registryUrl, topic);
  Object.defineProperty(codec, 'id', { value: SCHEMA_ID }); // encode without a registry round trip
  const dir = mkdtempSync(join(tmpdir(), 'tally-processor-'));
  const publisher = new TallyPublisher(config.redisUrl, topic, 'test');
  const redis = new Redis(config.redisUrl);
  try {
    let processor = await PartitionProcessor.open(dir, contextFor(publisher));
    const first = records(codec, 0, [['a', 'q1', 'o1'], ['b', 'q1', 'o2'], ['a', 'q1', 'o2']]);
    const written = await processor.process(packBatch(first, 0)!);
    assert.equal(written.kind, 'written');
    assert.deepEqual(written.kind === 'written' && written.outcomes, { accepted: 2, duplicate: 1, invalid: 0 });

    // The same records again (Kafka redelivery): nothing happens.
    assert.deepEqual(await processor.process(packBatch(first, 0)!), { kind: 'skipped', nextOffset: '3' });
    // A batch that starts past the stored offset is refused, so the consumer can seek back.
    assert.deepEqual(await processor.process(packBatch(records(codec, 5, [['c', 'q1', 'o1']]), 0)!), { kind: 'gap', nextOffset: '3' });

    // Overlapping redelivery: offsets 1..4, of which only 3 and 4 are new.
    const overlap = [...first.slice(1), ...records(codec, 3, [['b', 'q2', 'o1'], ['c', 'q1', 'o1']])];
    const second = await processor.process(packBatch(overlap, 0)!);
    assert.deepEqual(second.kind === 'written' && { outcomes: second.outcomes, records: second.records }, { outcomes: { accepted: 2, duplicate: 0, invalid: 0 }, records: 2 });
    assert.ok(second.kind === 'written' && second.checkpoint, 'five records with checkpointEvery 4: a checkpoint');
    assert.equal(second.kind === 'written' && second.checkpoint!.records, '5');
    await processor.close();

    processor = await PartitionProcessor.open(dir, contextFor(publisher));
    assert.equal(processor.nextOffset, 5);
    assert.deepEqual(processor.outcomeCounts(), { accepted: 4, duplicate: 1, invalid: 0 });
    assert.deepEqual(processor.surveyTallies().get(surveyId), {
      responses: 3,
      votes: { q1: { o1: 2, o2: 1 }, q2: { o1: 1 } },
      regions: { EU: { responses: 3, votes: { q1: { o1: 2, o2: 1 }, q2: { o1: 1 } } } },
      lastCastAt: 1_700_000_000_000,
    });
    assert.equal(processor.pendingCheckpointRows().length, 1, 'not confirmed yet: re-inserted at start-up');
    // A voter seen before the reopen is still a duplicate (read from RocksDB, not from memory).
    const third = await processor.process(packBatch(records(codec, 5, [['a', 'q1', 'o1']]), 0)!);
    assert.deepEqual(third.kind === 'written' && third.outcomes, { accepted: 0, duplicate: 1, invalid: 0 });
    await processor.close();

    const partial = JSON.parse((await redis.hget(surveyHashKey(surveyId), '0'))!);
    assert.equal(partial.nextOffset, '5', 'Redis holds the partial of the last batch that changed the survey');
    assert.equal(partial.responses, 3);
  } finally {
    await redis.del(surveyHashKey(surveyId), partitionStatusKey(topic));
    redis.disconnect();
    await publisher.close();
  }
});
