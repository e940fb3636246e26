// The outputs of one run, under its results folder: result.json (machine-readable, everything),
// report.md (the figures that matter, with what they mean) and one SVG per plot.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext, RunHeader } from './run-context.js';
import { writePlots, type Plot } from './plots.js';
import type { LatencySummary } from './latency-histogram.js';
import { BUSY_LOAD, loadAverage } from './machine-info.js';

/** One headline figure: shown in the report table and printed at the end of the run. */
export interface Figure {
  name: string;
  value: number | string;
  unit?: string;
  meaning: string;
}

export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

export interface RunOutcome {
  figures: Figure[];
  checks: Check[];
  /** Extra Markdown sections (already formatted), in order. */
  sections: { title: string; markdown: string }[];
  plots: Plot[];
  /** Everything else worth keeping in result.json. */
  data: Record<string, unknown>;
}

export interface WrittenReport {
  jsonPath: string;
  markdownPath: string;
  passed: boolean;
  /** Load averages (1, 5, 15 min) when the report was written, at the end of the run. */
  loadAtEnd: number[];
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 10 ? 3 : 1 });
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(head: string[], rows: (string | number)[][]): string {
  const cell = (value: string | number) => escapeCell(typeof value === 'number' ? formatNumber(value) : value);
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
}

export function latencyTable(rows: Record<string, LatencySummary>): string {
  return markdownTable(
    ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
    Object.entries(rows).map(([name, s]) => [name, s.count, s.p50Ms, s.p90Ms, s.p99Ms, s.p999Ms, s.maxMs, s.meanMs]),
  );
}

export function renderMarkdown(header: RunHeader, outcome: RunOutcome, plotFiles: string[], loadAtEnd: number[]): string {
  const passed = outcome.checks.every((check) => check.passed);
  const m = header.machine;
  const v = header.versions;
  const parts = [
    `# bench ${header.scenario} — ${header.runId}`,
    '',
    `**Verdict: ${outcome.checks.length === 0 ? 'no checks' : passed ? 'PASS' : 'FAIL'}**`,
    '',
    ...(header.busyMachine
      ? [
          `> **Measured on a busy machine**: the 1-minute load average was ${header.loadAtStart[0]} at the start (above ${BUSY_LOAD}; ${m.cores} cores), so other work shared the CPU and these figures are lower bounds.`,
          '',
        ]
      : []),
    '```',
    header.commandLine,
    '```',
    '',
    `- started ${header.startedAt}`,
    `- machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}`,
    `- load average (1 / 5 / 15 min): at start ${header.loadAtStart.join(' / ')}, at end ${loadAtEnd.join(' / ')}`,
    `- open files ${m.openFilesLimit}; ephemeral ports ${m.ephemeralPorts}`,
    `- versions: node ${v.node}, Kafka ${v.kafka}, Apicurio ${v.apicurio}, tally ${v.tally}; ${Object.entries(v.packages).map(([k, x]) => `${k} ${x}`).join(', ')}`,
    '',
    '## Figures',
    '',
    markdownTable(['figure', 'value', 'unit', 'what it means'], outcome.figures.map((f) => [f.name, typeof f.value === 'number' ? f.value : f.value, f.unit ?? '', f.meaning])),
    '',
  ];
  if (outcome.checks.length > 0) {
    parts.push('## Checks', '', markdownTable(['check', 'result', 'detail'], outcome.checks.map((c) => [c.name, c.passed ? 'pass' : '**FAIL**', c.detail])), '');
  }
  for (const section of outcome.sections) parts.push(`## ${section.title}`, '', section.markdown, '');
  if (plotFiles.length > 0) {
    parts.push('## Plots', '');
    outcome.plots.forEach((plot, i) => parts.push(`### ${plot.title}`, '', `![${plot.title}](${plotFiles[i]})`, ''));
  }
  parts.push('## Options', '', '```json', JSON.stringify(header.options, null, 2), '```', '');
  return parts.join('\n');
}

export async function writeReport(context: RunContext, outcome: RunOutcome): Promise<WrittenReport> {
  const passed = outcome.checks.every((check) => check.passed);
  let plotFiles: string[] = [];
  try {
    plotFiles = await writePlots(context.dir, outcome.plots);
  } catch (error) {
    context.progress(`plots could not be rendered: ${(error as Error).message}`);
  }
  const loadAtEnd = loadAverage();
  const jsonPath = join(context.dir, 'result.json');
  const markdownPath = join(context.dir, 'report.md');
  const result = {
    ...context.header,
    finishedAt: new Date().toISOString(),
    loadAverage: { start: context.header.loadAtStart, end: loadAtEnd },
    verdict: outcome.checks.length === 0 ? 'no-checks' : passed ? 'pass' : 'fail',
    figures: outcome.figures,
    checks: outcome.checks,
    plots: plotFiles,
    data: outcome.data,
  };
  await writeFile(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(markdownPath, renderMarkdown(context.header, outcome, plotFiles, loadAtEnd));
  return { jsonPath, markdownPath, passed, loadAtEnd };
}

/** The end of every run on stderr: the figures, the checks, and where the files are. */
export function printOutcome(context: RunContext, outcome: RunOutcome, written: WrittenReport): void {
  const out = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  for (const figure of outcome.figures) out(`${figure.name}: ${typeof figure.value === 'number' ? formatNumber(figure.value) : figure.value}${figure.unit ? ` ${figure.unit}` : ''}`);
  for (const check of outcome.checks) out(`${check.passed ? 'PASS' : 'FAIL'} ${check.name}: ${check.detail}`);
  out(`load average at end: ${written.loadAtEnd.join(' ')} (at start: ${context.header.loadAtStart.join(' ')}${context.header.busyMachine ? ', a busy machine' : ''})`);
  out(`result: ${written.jsonPath}`);
  out(`report: ${written.markdownPath}`);
}
