// The lifecycle of one owned partition, as the main thread drives it (owned-partitions.ts). Every
// step of a partition runs on that partition's own promise chain, so transitions never overlap.
//
//                 open task done
//    ┌─────────┐  (no local state) ┌───────────┐  caught up with the   ┌──────────┐
//    │ opening │──────────────────▶│ replaying │──────────────────────▶│ applying │
//    └─────────┘                   └───────────┘  log end              └──────────┘
//      │  │ open task done (resuming from the stored offset)              ▲   │
//      │  └───────────────────────────────────────────────────────────────┘   │
//      │                           batch with invalid records (from replaying │ or applying)
//      │                                                                      ▼
//      │                                      DLQ produced, write  ┌─────────────────┐
//      │                 back to replaying ◀── committed ──────────│ holding-for-dlq │
//      │                 or applying                               └─────────────────┘
//      │ open failed            any failure in a batch, a DLQ produce or a commit
//      ▼                        (from replaying, applying or holding-for-dlq)
//    ┌────────┐ ◀───────────────────────────────────────────────────────────────
//    │ failed │ ── next batch: reopen from the store ──▶ opening
//    └────────┘
//    any state ── released (rebalance) or shut down ──▶ closed (final; the store is closed and
//                                                       another thread or process may open it)
//
// Recovery is named by what it needs, never by what broke (Kafka Streams' TaskCorruptedException
// idea): the recoveries are `reopen` (memory may be ahead of the store: drop it, reopen the store,
// fetch again from the stored offset), `seek` (the fetched records do not start at the stored
// offset) and `skip` (every record fetched is already counted). See PartitionFailure below and
// BatchResult in worker-messages.ts.

export type LifecycleState = 'opening' | 'replaying' | 'applying' | 'holding-for-dlq' | 'failed' | 'closed';

const ALLOWED: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  opening: ['replaying', 'applying', 'failed', 'closed'],
  replaying: ['applying', 'holding-for-dlq', 'failed', 'closed'],
  applying: ['holding-for-dlq', 'failed', 'closed'],
  'holding-for-dlq': ['replaying', 'applying', 'failed', 'closed'],
  failed: ['opening', 'closed'],
  closed: [],
};

/** What the partition needs after a failure. */
export type Recovery = 'reopen';

/**
 * A batch, a DLQ produce, a commit or an open failed: the partition's memory may be ahead of its
 * store, so it is reopened from the store and fetches again from the stored offset (after a
 * pause, so an outage is not hammered). Nothing is lost: the store only ever holds whole batches.
 */
export class PartitionFailure extends Error {
  readonly recovery: Recovery = 'reopen';

  constructor(
    readonly partition: number,
    readonly during: 'open' | 'batch' | 'dlq-produce' | 'commit',
    options: { cause: unknown },
  ) {
    super(`partition ${partition}: ${during} failed (${String((options.cause as Error)?.message ?? options.cause)}); reopening it from its store`, options);
    this.name = 'PartitionFailure';
  }
}

export class IllegalTransition extends Error {
  constructor(partition: number, from: LifecycleState, to: LifecycleState) {
    super(`partition ${partition}: no transition from ${from} to ${to}`);
    this.name = 'IllegalTransition';
  }
}

export class PartitionLifecycle {
  private current: LifecycleState = 'opening';
  /** Where holding-for-dlq returns once the held write is committed. */
  private resumeAs: 'replaying' | 'applying' = 'applying';

  constructor(readonly partition: number) {}

  get state(): LifecycleState {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  get replaying(): boolean {
    return this.current === 'replaying' || (this.current === 'holding-for-dlq' && this.resumeAs === 'replaying');
  }

  /** open task done: replaying when the partition had no local state, else applying. */
  opened(fresh: boolean): void {
    this.to(fresh ? 'replaying' : 'applying');
  }

  holdForDlq(): void {
    const from = this.current;
    this.to('holding-for-dlq');
    this.resumeAs = from === 'replaying' ? 'replaying' : 'applying';
  }

  /** The held write is durable. */
  committed(): void {
    if (this.current !== 'holding-for-dlq') throw new IllegalTransition(this.partition, this.current, this.resumeAs);
    this.to(this.resumeAs);
  }

  caughtUp(): void {
    if (this.current === 'replaying') this.to('applying');
  }

  failed(): void {
    if (this.current !== 'closed' && this.current !== 'failed') this.to('failed');
  }

  reopening(): void {
    this.to('opening');
  }

  close(): void {
    if (this.current !== 'closed') this.to('closed');
  }

  private to(next: LifecycleState): void {
    if (!ALLOWED[this.current].includes(next)) throw new IllegalTransition(this.partition, this.current, next);
    this.current = next;
  }
}
