import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../bench/lib/prng.js';
import { Zipf } from '../../bench/lib/zipf.js';

test('Zipf: probabilities follow 1/(k+1)^s and sum to 1', () => {
  const zipf = new Zipf(10, 1);
  const harmonic = Array.from({ length: 10 }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b);
  for (let k = 0; k < 10; k++) assert.ok(Math.abs(zipf.probability(k) - 1 / (k + 1) / harmonic) < 1e-12);
  const uniform = new Zipf(4, 0);
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(uniform.probability(k) - 0.25) < 1e-12);
});

test('Zipf: sampled frequencies match the distribution', () => {
  const zipf = new Zipf(100, 1.2);
  const prng = new Prng(7);
  const counts = new Array<number>(100).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[zipf.sample(prng)]! += 1;
  for (const k of [0, 1, 5, 50]) {
    const expected = zipf.probability(k) * n;
    assert.ok(Math.abs(counts[k]! - expected) < 5 * Math.sqrt(expected) + 5, `rank ${k}: ${counts[k]} vs ${expected.toFixed(0)}`);
  }
  assert.ok(counts[0]! > counts[1]! && counts[1]! > counts[10]!);
});

test('Zipf and Prng: the same seed gives the same sequence', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const zipf = new Zipf(1000, 1);
  for (let i = 0; i < 1000; i++) assert.equal(zipf.sample(a), zipf.sample(b));
  assert.throws(() => new Zipf(0, 1), RangeError);
});
