// A broker-free driver for one partition's processor (Kafka Streams' TopologyTestDriver idea):
// records in, the real PartitionProcessor (reader, counting core, persistence, checkpoints) on an
// in-memory store and publisher, results and state out. No Kafka, RocksDB, Redis or registry.
import { VoteCodec, VoteDecoder, voteSchemaJson, type VoteCast } from '../../../src/vote-codec.js';
import { MemoryPartialPublisher } from '../../../src/aggregate/memory-partial-publisher.js';
import { MemoryPartitionStore } from '../../../src/aggregate/memory-partition-store.js';
import { packBatch } from '../../../src/aggregate/packed-batch.js';
import { PartitionProcessor } from '../../../src/aggregate/partition-processor.js';
import type { PartitionStore } from '../../../src/aggregate/partition-store.js';
import { RecordReader } from '../../../src/aggregate/record-reader.js';
import { WriterSchemas } from '../../../src/aggregate/writer-schemas.js';
import type { BatchResult, DlqRecord } from '../../../src/aggregate/worker-messages.js';

export const SCHEMA_ID = 1;
export const TOPIC = 'votes-driver';

/** Writer schemas without a registry: ids the decoder does not know stay unknown (→ DLQ). */
class OfflineWriterSchemas extends WriterSchemas {
  override isResolved(): boolean {
    return true;
  }
}

export interface DriverRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Kafka timestamp (epoch ms); absent or -1: none. */
  timestamp?: number;
}

export interface DriverOptions {
  partition?: number;
  checkpointEvery?: number;
  /** Another driver's store data: the same partition opened again. */
  data?: Map<string, string>;
  /** A store of your own (e.g. RocksDB in a temp dir). */
  store?: PartitionStore;
  publisher?: MemoryPartialPublisher;
  /** The topic id the processor checks and stores (src/topic-id.ts); absent: not checked. */
  topicId?: string;
}

export class ProcessorDriver {
  readonly dlq: DlqRecord[] = [];

  private constructor(
    readonly processor: PartitionProcessor,
    readonly store: PartitionStore,
    readonly publisher: MemoryPartialPublisher,
    private readonly options: DriverOptions,
  ) {}

  static async open(options: DriverOptions = {}): Promise<ProcessorDriver> {
    const decoder = new VoteDecoder();
    decoder.addWriterSchema(SCHEMA_ID, voteSchemaJson);
    const schemas = new OfflineWriterSchemas('http://registry.invalid', decoder);
    const store = options.store ?? new MemoryPartitionStore(options.data);
    const publisher = options.publisher ?? new MemoryPartialPublisher();
    const processor = await PartitionProcessor.open(store, {
      topic: TOPIC,
      ...(options.topicId === undefined ? {} : { topicId: options.topicId }),
      partition: options.partition ?? 0,
      checkpointEvery: options.checkpointEvery ?? 1_000_000,
      reader: new RecordReader(decoder, schemas),
      schemas,
      publisher,
    });
    return new ProcessorDriver(processor, store, publisher, options);
  }

  /** The same partition opened again from what its store holds (memory-store drivers only). */
  reopen(): Promise<ProcessorDriver> {
    if (!(this.store instanceof MemoryPartitionStore)) throw new Error('reopen: use a new driver on the same RocksDB directory');
    return ProcessorDriver.open({ ...this.options, data: this.store.data, publisher: this.publisher });
  }

  /** One Kafka batch; invalid records are "produced" to `dlq` before the held write is committed. */
  async send(records: readonly DriverRecord[]): Promise<BatchResult> {
    const packed = packBatch(
      records.map((r) => ({ offset: String(r.offset), key: r.key, value: r.value, timestamp: String(r.timestamp ?? -1) })),
      0,
    );
    if (!packed) throw new Error('empty batch');
    const result = await this.processor.process(packed);
    if (result.kind !== 'needs-dlq') return result;
    this.dlq.push(...result.dlq);
    return this.processor.commitHeld();
  }
}

/** Encodes votes in the wire format with SCHEMA_ID, without a registry. */
export function offlineCodec(): { encode(vote: VoteCast): Buffer } {
  const codec = new VoteCodec('http://registry.invalid', TOPIC);
  Object.defineProperty(codec, 'id', { value: SCHEMA_ID });
  return codec;
}
