// Worker-thread entry (piscina): owns the PartitionProcessors of the partitions pinned to this
// thread and runs the tasks of worker-messages.ts against them. Each partition's tasks arrive one
// at a time (the main thread chains them), tasks of different partitions interleave.
import { workerData } from 'piscina';
import { VoteDecoder } from '../vote-codec.js';
import { PartitionProcessor } from './partition-processor.js';
import { partitionDir } from './partition-store.js';
import { RecordReader } from './record-reader.js';
import { RedisPartialPublisher } from './redis-partial-publisher.js';
import { RocksDBPartitionStore } from './rocksdb-partition-store.js';
import { WriterSchemas } from './writer-schemas.js';
import type { BatchResult, CheckpointResult, OpenResult, RefreshResult, WorkerSettings, WorkerTask, WrittenResult } from './worker-messages.js';

const settings = workerData as WorkerSettings;
const decoder = new VoteDecoder();
const schemas = new WriterSchemas(settings.registryUrl, decoder, settings.schemaNotFoundGraceMs);
const reader = new RecordReader(decoder, schemas);
const publisher = new RedisPartialPublisher(settings.redisUrl, settings.topic, settings.instance, settings.topicId);
const processors = new Map<number, PartitionProcessor>();

/** Where a partition is opened on this thread: its RocksDB directory, then its state. */
async function open(partition: number): Promise<PartitionProcessor> {
  const store = await RocksDBPartitionStore.open(partitionDir(settings.dataDir, settings.topic, partition));
  const processor = await PartitionProcessor.open(store, { topic: settings.topic, topicId: settings.topicId, partition, checkpointEvery: settings.checkpointEvery, reader, schemas, publisher });
  processors.set(partition, processor);
  return processor;
}

async function close(partition: number): Promise<void> {
  const processor = processors.get(partition);
  if (!processor) return;
  processors.delete(partition);
  await processor.close();
}

function opened(partition: number): PartitionProcessor {
  const processor = processors.get(partition);
  if (!processor) throw new Error(`partition ${partition} is not open on this thread`);
  return processor;
}

/** Runs a step that may leave memory ahead of RocksDB; if it throws, the partition is closed here. */
async function guarded<T>(partition: number, step: (processor: PartitionProcessor) => Promise<T>): Promise<T> {
  const processor = opened(partition);
  try {
    return await step(processor);
  } catch (error) {
    await close(partition).catch(() => undefined);
    throw error;
  }
}

export default async function run(task: WorkerTask): Promise<OpenResult | BatchResult | WrittenResult | CheckpointResult | RefreshResult | null> {
  switch (task.kind) {
    case 'open': {
      if (task.reload) await close(task.partition);
      const processor = processors.get(task.partition) ?? (await open(task.partition));
      return { nextOffset: String(processor.nextOffset), pendingCheckpoints: processor.pendingCheckpointRows(), fresh: processor.isFresh, partialsBehind: processor.partialsBehind };
    }
    case 'batch':
      return guarded(task.partition, (processor) => processor.process(task.batch));
    case 'commit':
      return guarded(task.partition, (processor) => processor.commitHeld());
    case 'checkpoint':
      return { checkpoint: await guarded(task.partition, (processor) => processor.checkpointNow()) };
    case 'confirm-checkpoints':
      await opened(task.partition).confirmCheckpoints(task.lastOffsets);
      return null;
    case 'refresh-partials': {
      // Not guarded: a refresh changes no state, so a failure (Redis down) leaves memory = store.
      const processor = opened(task.partition);
      const foundBehind = await processor.refreshPartials();
      return { nextOffset: String(processor.nextOffset), foundBehind, partialsBehind: processor.partialsBehind };
    }
    case 'close':
      await close(task.partition);
      return null;
  }
}
