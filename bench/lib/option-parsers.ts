// Option value parsers for commander: a bad value stops the run before anything starts, with the
// option named in the message (commander prints it with the usage).
import { InvalidArgumentError } from 'commander';

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer between ${min} and ${max}`);
    return n;
  };
}

export function decimal(min: number, max: number, { exclusiveMax = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || (exclusiveMax ? n >= max : n > max)) throw new InvalidArgumentError(`must be a number in [${min}, ${max}${exclusiveMax ? ')' : ']'}`);
    return n;
  };
}

/** A comma-separated list of integers, e.g. client counts "10000,50000". */
export function integerList(min: number, max: number) {
  const one = integer(min, max);
  return (value: string): number[] => value.split(',').map((part) => one(part.trim()));
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
    return value as T;
  };
}

/** A repeatable option: each use adds one of a fixed set of words (repeats kept once). */
export function collect<T extends string>(values: readonly T[]) {
  const one = oneOf(values);
  return (value: string, previous: T[] = []): T[] => {
    const next = one(value);
    return previous.includes(next) ? previous : [...previous, next];
  };
}
