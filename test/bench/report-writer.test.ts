import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, decodeHistogram, encodeHistogram, recordMs, summarize } from '../../bench/lib/latency-histogram.js';
import { latencyCdfPlot, linePlot } from '../../bench/lib/plots.js';
import { renderMarkdown, writeReport } from '../../bench/lib/report-writer.js';
import { createRunContext } from '../../bench/lib/run-context.js';

test('latency histogram: summary in ms, survives the trip through compressed base64', () => {
  const histogram = createHistogram();
  for (let ms = 1; ms <= 1000; ms++) recordMs(histogram, ms);
  const summary = summarize(histogram);
  assert.equal(summary.count, 1000);
  assert.ok(Math.abs(summary.p50Ms - 500) <= 1, `p50 ${summary.p50Ms}`);
  assert.ok(Math.abs(summary.p99Ms - 990) <= 1, `p99 ${summary.p99Ms}`);
  assert.ok(Math.abs(summary.maxMs - 1000) <= 1, `max ${summary.maxMs}`);
  const merged = createHistogram();
  merged.add(decodeHistogram(encodeHistogram(histogram)));
  merged.add(decodeHistogram(encodeHistogram(histogram)));
  assert.equal(merged.totalCount, 2000);
  assert.equal(summarize(merged).p99Ms, summary.p99Ms);
  assert.equal(summarize(createHistogram()).count, 0);
});

test('report writer: result.json, report.md with figures, failed checks and SVG plots', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const context = createRunContext('unit', { votes: 10 }, root);
    const histogram = createHistogram();
    for (let ms = 1; ms <= 50; ms++) recordMs(histogram, ms);
    const written = await writeReport(context, {
      figures: [{ name: 'throughput', value: 123456, unit: 'votes/s', meaning: 'what it means' }],
      checks: [{ name: 'exact tallies', passed: false, detail: 'survey 1 votes.q.o: expected 2, actual 1' }],
      sections: [{ title: 'Extra', markdown: 'hello' }],
      plots: [linePlot('lag', 'Lag', [{ t: 0, lag: 5 }, { t: 1, lag: 0 }], { field: 't', title: 's' }, { field: 'lag', title: 'records' }), latencyCdfPlot('cdf', 'CDF', { a: histogram })],
      data: { anything: [1, 2] },
    });
    assert.equal(written.passed, false);
    const result = JSON.parse(readFileSync(written.jsonPath, 'utf8'));
    assert.equal(result.verdict, 'fail');
    assert.equal(result.scenario, 'unit');
    assert.deepEqual(result.data, { anything: [1, 2] });
    assert.ok(result.machine.cores >= 1 && result.versions.node === process.version);
    assert.equal(result.loadAverage.start.length, 3, 'load average (1, 5, 15 min) at the start');
    assert.equal(result.loadAverage.end.length, 3, 'and at the end');
    assert.equal(result.busyMachine, result.loadAverage.start[0] > 1.5);
    const markdown = readFileSync(written.markdownPath, 'utf8');
    assert.match(markdown, /\*\*Verdict: FAIL\*\*/);
    assert.match(markdown, /\| throughput \| 123,456 \| votes\/s \|/);
    assert.match(markdown, /!\[Lag\]\(lag\.svg\)/);
    assert.match(markdown, /^- load average \(1 \/ 5 \/ 15 min\): at start [\d.]+ \/ [\d.]+ \/ [\d.]+, at end [\d.]+ \/ [\d.]+ \/ [\d.]+$/m);
    for (const file of ['lag.svg', 'cdf.svg']) {
      assert.ok(existsSync(join(context.dir, file)));
      assert.match(readFileSync(join(context.dir, file), 'utf8'), /^<svg/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('report writer: a run that started above 1.5 load says "measured on a busy machine" at the top, a quiet one does not', () => {
  const root = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const { header } = createRunContext('unit', {}, root);
    const outcome = { figures: [], checks: [], sections: [], plots: [], data: {} };
    const busy = renderMarkdown({ ...header, loadAtStart: [3.2, 2, 1], busyMachine: true }, outcome, [], [2.5, 2, 1]);
    assert.match(busy, /^> \*\*Measured on a busy machine\*\*: the 1-minute load average was 3\.2 at the start/m);
    assert.match(busy, /at start 3\.2 \/ 2 \/ 1, at end 2\.5 \/ 2 \/ 1/);
    const quiet = renderMarkdown({ ...header, loadAtStart: [0.4, 0.3, 0.2], busyMachine: false }, outcome, [], [0.5, 0.3, 0.2]);
    assert.doesNotMatch(quiet, /busy machine/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
