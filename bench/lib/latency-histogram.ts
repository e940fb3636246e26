// HDR histograms for latencies, in microseconds (1 µs .. 10 min, 3 significant digits), with the
// summary every report prints. Children ship theirs to the parent as compressed base64.
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

const HIGHEST_US = 10 * 60 * 1_000_000;

export function createHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a duration given in milliseconds (fractions allowed); negative clock skew clamps to 0. */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.min(HIGHEST_US, Math.round(ms * 1000))));
}

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** To 0.1 ms: the clocks compared here tick in ms, and HDR buckets add a few µs of noise. */
const round = (us: number) => Math.round(us / 100) / 10;

export function summarize(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  return {
    count: histogram.totalCount,
    minMs: round(histogram.minNonZeroValue),
    meanMs: round(histogram.mean),
    p50Ms: round(histogram.getValueAtPercentile(50)),
    p90Ms: round(histogram.getValueAtPercentile(90)),
    p99Ms: round(histogram.getValueAtPercentile(99)),
    p999Ms: round(histogram.getValueAtPercentile(99.9)),
    maxMs: round(histogram.maxValue),
  };
}

/** Points of the latency CDF (percentile → ms), for plots. */
export function cdfPoints(histogram: Histogram): { percentile: number; ms: number }[] {
  if (histogram.totalCount === 0) return [];
  const percentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100];
  return percentiles.map((percentile) => ({ percentile, ms: round(histogram.getValueAtPercentile(percentile)) }));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(base64: string): Histogram {
  return hdr.decodeFromCompressedBase64(base64, 32, false);
}
