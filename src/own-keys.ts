// Counting records keyed by ids that arrive inside votes (question, option, region ids).
// A plain object inherits names such as `constructor`, `toString` and `__proto__` from
// Object.prototype: reading one returns the inherited value, and assigning `__proto__` replaces
// the prototype instead of storing a count. These helpers only ever touch own properties, so any
// string is a safe key. Records parsed from JSON stay plain objects (no conversion step).

/** The own value under `key`, or undefined. */
export function ownValue<T>(record: { [key: string]: T }, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function define<T>(record: { [key: string]: T }, key: string, value: T): T {
  Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
  return value;
}

/** The own value under `key`, created with `create()` on first use. */
export function ownOrCreate<T>(record: { [key: string]: T }, key: string, create: () => T): T {
  return Object.hasOwn(record, key) ? record[key]! : define(record, key, create());
}

/** record[key] += n, starting from 0. */
export function addCount(record: { [key: string]: number }, key: string, n: number): void {
  if (Object.hasOwn(record, key)) record[key]! += n;
  else define(record, key, n);
}

/** record[key] = value as an own property, whatever the key. */
export function setOwn<T>(record: { [key: string]: T }, key: string, value: T): void {
  define(record, key, value);
}
