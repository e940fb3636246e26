// Zipf-distributed ranks: P(rank k) ∝ 1 / (k+1)^s for k in [0, n). The CDF is built once, so a
// draw is one uniform number and a binary search (no allocation on the hot path).
import type { Prng } from './prng.js';

export class Zipf {
  private readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly exponent: number,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Zipf: n must be a positive integer, got ${n}`);
    if (!(exponent >= 0)) throw new RangeError(`Zipf: exponent must be >= 0, got ${exponent}`);
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, exponent);
      this.cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k] = this.cdf[k]! / sum;
    this.cdf[n - 1] = 1;
  }

  /** Probability of rank k (0 = most popular). */
  probability(k: number): number {
    return k === 0 ? this.cdf[0]! : this.cdf[k]! - this.cdf[k - 1]!;
  }

  sample(prng: Prng): number {
    const u = prng.next();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
