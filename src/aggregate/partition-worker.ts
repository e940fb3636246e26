// Worker-thread entry (piscina): owns the PartitionProcessors of the partitions pinned to this
// thread and runs the tasks of worker-messages.ts against them. Each partition's tasks arrive one
// at a time (the main thread chains them), tasks of different partitions interleave.
import { workerData } from 'piscina';
import { VoteDecoder } from '../vote-codec.js';
import { createLogger } from '../logger.js';
import { PartitionProcessor } from './partition-processor.js';
import { partitionDir } from './partition-store.js';
import { TallyPublisher } from './tally-publisher.js';
import { WriterSchemas } from './writer-schemas.js';
import type { BatchResult, CheckpointResult, OpenResult, WorkerSettings, WorkerTask, WrittenResult } from './worker-messages.js';

const settings = workerData as WorkerSettings;
const logger = createLogger('aggregate', { logLevel: settings.logLevel as 'info' });
const decoder = new VoteDecoder();
const schemas = new WriterSchemas(settings.registryUrl, decoder);
const publisher = new TallyPublisher(settings.redisUrl, settings.topic, settings.instance);
const processors = new Map<number, PartitionProcessor>();

async function open(partition: number): Promise<PartitionProcessor> {
  const existing = processors.get(partition);
  if (existing && !existing.broken) return existing;
  if (existing) {
    // Memory went ahead of RocksDB (a failed write or DLQ produce): reload the durable state.
    logger.warn({ partition }, 'reloading partition state from RocksDB after a failed batch');
    processors.delete(partition);
    await existing.close();
  }
  const processor = await PartitionProcessor.open(partitionDir(settings.dataDir, settings.topic, partition), {
    topic: settings.topic,
    partition,
    checkpointEvery: settings.checkpointEvery,
    decoder,
    schemas,
    publisher,
  });
  processors.set(partition, processor);
  return processor;
}

async function close(partition: number): Promise<void> {
  const processor = processors.get(partition);
  if (!processor) return;
  processors.delete(partition);
  await processor.close();
}

export default async function run(task: WorkerTask): Promise<OpenResult | BatchResult | WrittenResult | CheckpointResult | null> {
  switch (task.kind) {
    case 'open': {
      const processor = await open(task.partition);
      return { nextOffset: String(processor.nextOffset), pendingCheckpoints: processor.pendingCheckpointRows(), fresh: processor.isFresh };
    }
    case 'batch':
      return (await open(task.partition)).process(task.batch);
    case 'commit': {
      // Not open(): a processor holding a write is `broken` until the write lands.
      const processor = processors.get(task.partition);
      if (!processor) throw new Error(`partition ${task.partition}: commit without an open partition`);
      return processor.commitHeld();
    }
    case 'discard': {
      const processor = processors.get(task.partition);
      if (processor) processor.broken = true;
      await open(task.partition);
      return null;
    }
    case 'checkpoint':
      return { checkpoint: await (await open(task.partition)).checkpointNow() };
    case 'confirm-checkpoints':
      await (await open(task.partition)).confirmCheckpoints(task.lastOffsets);
      return null;
    case 'close':
      await close(task.partition);
      return null;
  }
}
