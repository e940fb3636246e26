// Plots as SVG files, rendered in Node by vega + vega-lite (no browser).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { Histogram } from './latency-histogram.js';

export interface Plot {
  /** file name without extension, e.g. "lag-over-time" */
  name: string;
  title: string;
  spec: vegaLite.TopLevelSpec;
}

export type Row = Record<string, number | string>;

/** What every plot shares: size, background, title and data. */
function frame(title: string, rows: Row[]) {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title, width: 640, height: 280, background: 'white', data: { values: rows } };
}

/** A line per series: x and y are field names of the rows; `series` names the colour field. */
export function linePlot(name: string, title: string, rows: Row[], x: { field: string; title: string }, y: { field: string; title: string }, series?: string): Plot {
  return {
    name,
    title,
    spec: {
      ...frame(title, rows),
      mark: { type: 'line', point: rows.length <= 60 },
      encoding: {
        x: { field: x.field, type: 'quantitative', title: x.title },
        y: { field: y.field, type: 'quantitative', title: y.title },
        ...(series ? { color: { field: series, type: 'nominal' } } : {}),
      },
    } as vegaLite.TopLevelSpec,
  };
}

/** Horizontal bars, one per category (in the rows' order); `series` stacks each bar by colour. */
export function barPlot(name: string, title: string, rows: Row[], category: { field: string; title: string }, value: { field: string; title: string }, series?: string): Plot {
  return {
    name,
    title,
    spec: {
      ...frame(title, rows),
      mark: { type: 'bar' },
      encoding: {
        y: { field: category.field, type: 'nominal', title: category.title, sort: null },
        x: { field: value.field, type: 'quantitative', title: value.title, stack: series ? 'zero' : null },
        ...(series ? { color: { field: series, type: 'nominal' } } : {}),
      },
    } as vegaLite.TopLevelSpec,
  };
}

/** Grouped bars: one bar per row, `x` the category, `series` the bar colour (side by side). */
export function groupedBarPlot(name: string, title: string, rows: Row[], x: { field: string; title: string }, y: { field: string; title: string }, series: string): Plot {
  return {
    name,
    title,
    spec: {
      ...frame(title, rows),
      mark: 'bar',
      encoding: {
        x: { field: x.field, type: 'nominal', title: x.title },
        xOffset: { field: series, type: 'nominal' },
        y: { field: y.field, type: 'quantitative', title: y.title },
        color: { field: series, type: 'nominal' },
      },
    } as vegaLite.TopLevelSpec,
  };
}

/** A marked interval on a timeline: from `start` to `end` (x units), labelled. */
export interface TimelineMark {
  label: string;
  start: number;
  end: number;
}

/**
 * Lines over time, one per `series`, each in its own panel (own y scale), with the marked
 * intervals (faults, phases) shaded across every panel and labelled in the first.
 */
export function timelinePlot(name: string, title: string, rows: Row[], x: { field: string; title: string }, y: { field: string }, series: string, marks: TimelineMark[]): Plot {
  const seriesNames = [...new Set(rows.map((row) => String(row[series])))];
  const panel = (seriesName: string, first: boolean) => ({
    width: 720,
    height: 120,
    title: seriesName,
    layer: [
      {
        data: { values: marks },
        mark: { type: 'rect', opacity: 0.18, color: '#d62728' },
        encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' } },
      },
      ...(first
        ? [
            {
              data: { values: marks },
              mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dy: -2, fontSize: 9, y: 0 },
              encoding: { x: { field: 'start', type: 'quantitative' }, text: { field: 'label' } },
            },
          ]
        : []),
      {
        data: { values: rows.filter((row) => String(row[series]) === seriesName) },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: x.field, type: 'quantitative', title: x.title },
          y: { field: y.field, type: 'quantitative', title: seriesName },
        },
      },
    ],
  });
  return {
    name,
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title,
      background: 'white',
      vconcat: seriesNames.map((seriesName, i) => panel(seriesName, i === 0)),
      resolve: { scale: { x: 'shared' } },
    } as unknown as vegaLite.TopLevelSpec,
  };
}

/** -log10(1 - p): 1 = p90, 2 = p99, 3 = p99.9; the usual way to show a latency tail. */
const NINES = [0, 50, 90, 99, 99.9, 99.99, 99.999];

/** Latency CDF on a "nines" axis, one line per named histogram. */
export function latencyCdfPlot(name: string, title: string, histograms: Record<string, Histogram>): Plot {
  const rows: Row[] = [];
  for (const [label, histogram] of Object.entries(histograms)) {
    if (histogram.totalCount === 0) continue;
    for (let nines = 0; nines <= 4.0001; nines += 0.125) {
      const percentile = 100 * (1 - Math.pow(10, -nines));
      rows.push({ series: label, nines, ms: histogram.getValueAtPercentile(percentile) / 1000 });
    }
    rows.push({ series: label, nines: 4.5, ms: histogram.maxValue / 1000 });
  }
  const labels = NINES.map((p) => ({ p, v: p === 0 ? 0 : -Math.log10(1 - p / 100) }));
  return {
    name,
    title,
    spec: {
      ...frame(title, rows),
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: {
          field: 'nines',
          type: 'quantitative',
          title: 'percentile (4.5 = max)',
          scale: { domain: [0, 4.5] },
          axis: {
            values: [...labels.map((l) => l.v), 4.5],
            labelExpr: `{${labels.map((l) => `'${l.v}': 'p${l.p}'`).join(', ')}, '4.5': 'max'}[datum.value] || format(datum.value, '.2f')`,
          },
        },
        y: { field: 'ms', type: 'quantitative', title: 'latency (ms)' },
        color: { field: 'series', type: 'nominal' },
      },
    } as vegaLite.TopLevelSpec,
  };
}

export async function renderSvg(plot: Plot): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(plot.spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes <dir>/<name>.svg for each plot; returns the file names. */
export async function writePlots(dir: string, plots: Plot[]): Promise<string[]> {
  const files: string[] = [];
  for (const plot of plots) {
    const file = `${plot.name}.svg`;
    await writeFile(join(dir, file), await renderSvg(plot));
    files.push(file);
  }
  return files;
}
