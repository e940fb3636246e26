// A bounded map for hot paths: two generations of at most `max / 2` entries each. Writes go to the
// young generation; when it is full the old one is dropped whole and the young one becomes old; a
// read that finds an entry in the old generation moves it back to the young one. So entries used
// recently survive, the oldest go first (approximately LRU), and every operation is O(1).
//
// Why not one Map that deletes its first key when full: V8's ordered hash table keeps deleted
// entries until it rehashes, and `keys().next()` walks over them, so evicting one entry per insert
// cost 5.7 µs here against 0.1 µs for this (10,000 entries, node 20).
export class GenerationalMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.set(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.half && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}
