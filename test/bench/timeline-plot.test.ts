import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSvg, timelinePlot } from '../../bench/lib/plots.js';

test('timeline plot: one panel per series, the marked intervals labelled', async () => {
  const rows = [0, 1, 2, 3].flatMap((t) => [
    { t, series: '202 per second', value: 10 * t },
    { t, series: 'consumer lag (records)', value: t === 2 ? 500 : 0 },
  ]);
  const svg = await renderSvg(timelinePlot('timeline', 'Chaos timeline', rows, { field: 't', title: 'seconds' }, { field: 'value' }, 'series', [{ label: 'aggregator kill -9 #1', start: 1, end: 2.5 }]));
  assert.match(svg, /^<svg/);
  assert.match(svg, /aggregator kill -9 #1/);
  assert.match(svg, /202 per second/);
  assert.match(svg, /consumer lag \(records\)/);
});
