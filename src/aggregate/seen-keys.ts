// A bounded memory of one-vote keys known to be stored, so a voter's quick re-submission is
// decided without a RocksDB read. Two generations: when the young one fills up it becomes the old
// one and the previous old one is dropped, an LRU approximation with O(1) work and no per-key
// bookkeeping. A miss only means "ask RocksDB", never "new", so eviction cannot change a count.
export class SeenKeys {
  private young = new Set<string>();
  private old = new Set<string>();

  constructor(private readonly generationSize: number) {}

  has(key: string): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  add(key: string): void {
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Set();
    }
    this.young.add(key);
  }
}
