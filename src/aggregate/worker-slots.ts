// Worker threads with partitions pinned to them: one single-thread piscina pool per slot, so every
// task of a partition runs on the thread that holds its RocksDB and in-memory state. A new
// partition goes to the slot with the fewest partitions.
import { Piscina } from 'piscina';
import type { TransferListItem } from 'node:worker_threads';
import type { WorkerSettings, WorkerTask } from './worker-messages.js';

/** Tasks of different partitions interleave on one thread while each waits on RocksDB or Redis. */
const CONCURRENT_PARTITIONS_PER_THREAD = 16;
/**
 * Young generation of a worker's heap: 96 MB = 32 MB semi-spaces (V8's default is 16). A batch's
 * votes live from the read to the count, across the ledger lookup; with 16 MB semi-spaces the
 * scavenger copied them and promoted them, and the old generation's concurrent marking then cost
 * more than the counting (bench aggregate --profile: GC ~30 % of the worker's CPU). The same
 * choice as ingest's workers (--max-semi-space-size=32, ingest-cluster.ts).
 */
const YOUNG_GENERATION_MB = 96;

export class WorkerSlots {
  private readonly pools: Piscina[];
  private readonly partitionsPerSlot: number[];
  private readonly slotOf = new Map<number, number>();

  constructor(threads: number, settings: WorkerSettings) {
    this.pools = Array.from(
      { length: threads },
      () =>
        new Piscina({
          filename: new URL('./partition-worker.js', import.meta.url).href,
          minThreads: 1,
          maxThreads: 1,
          idleTimeout: Number.POSITIVE_INFINITY,
          concurrentTasksPerWorker: CONCURRENT_PARTITIONS_PER_THREAD,
          // The worker's tasks await I/O; blocking Atomics waits would stall them.
          atomics: 'disabled',
          resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
          workerData: settings,
        }),
    );
    this.partitionsPerSlot = this.pools.map(() => 0);
  }

  run<T>(task: WorkerTask, transferList?: TransferListItem[]): Promise<T> {
    const slot = this.slotFor(task.partition);
    return this.pools[slot]!.run(task, transferList ? { transferList } : undefined) as Promise<T>;
  }

  /** Forgets the pinning once the partition is closed on its thread. */
  release(partition: number): void {
    const slot = this.slotOf.get(partition);
    if (slot === undefined) return;
    this.slotOf.delete(partition);
    this.partitionsPerSlot[slot]!--;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.destroy()));
  }

  private slotFor(partition: number): number {
    let slot = this.slotOf.get(partition);
    if (slot === undefined) {
      slot = this.partitionsPerSlot.indexOf(Math.min(...this.partitionsPerSlot));
      this.slotOf.set(partition, slot);
      this.partitionsPerSlot[slot]!++;
    }
    return slot;
  }
}
