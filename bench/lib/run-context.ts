// One bench run: its id, its results folder, and the header (machine, versions, command line)
// printed on stderr at start and stored in the JSON result.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUSY_LOAD, machineInfo, versions, type MachineInfo, type Versions } from './machine-info.js';

/** The project root (dist/bench/lib → ../../..). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface RunHeader {
  runId: string;
  scenario: string;
  startedAt: string;
  commandLine: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  versions: Versions;
  /** Load averages (1, 5, 15 min) when the run started (= machine.loadAverage). */
  loadAtStart: number[];
  /** The 1-minute load at start was above BUSY_LOAD: the figures are lower bounds. */
  busyMachine: boolean;
}

export interface RunContext {
  readonly header: RunHeader;
  /** bench/results/<scenario>-<runId>/ */
  readonly dir: string;
  /** A progress line on stderr. */
  progress(message: string): void;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function newRunId(): string {
  const now = new Date();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function createRunContext(scenario: string, options: Record<string, unknown>, resultsRoot?: string): RunContext {
  const runId = newRunId();
  const dir = join(resultsRoot ?? join(PROJECT_ROOT, 'bench', 'results'), `${scenario}-${runId}`);
  mkdirSync(dir, { recursive: true });
  const machine = machineInfo();
  const header: RunHeader = {
    runId,
    scenario,
    startedAt: new Date().toISOString(),
    commandLine: ['npm run bench --', ...process.argv.slice(2).map(shellQuote)].join(' '),
    options,
    machine,
    versions: versions(PROJECT_ROOT),
    loadAtStart: machine.loadAverage,
    busyMachine: machine.loadAverage[0]! > BUSY_LOAD,
  };
  const started = performance.now();
  return {
    header,
    dir,
    progress(message: string) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
      process.stderr.write(`[bench ${scenario} ${seconds}s] ${message}\n`);
    },
  };
}

export function printHeader(context: RunContext): void {
  const { header } = context;
  const m = header.machine;
  const v = header.versions;
  const lines = [
    `run ${header.runId}: ${header.commandLine}`,
    `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}, load ${m.loadAverage.join(' ')}, open files ${m.openFilesLimit}, ephemeral ports ${m.ephemeralPorts}`,
    `versions: node ${v.node}, kafka ${v.kafka}, apicurio ${v.apicurio}, tally ${v.tally}, ${Object.entries(v.packages).map(([k, x]) => `${k} ${x}`).join(', ')}`,
    `options: ${JSON.stringify(header.options)}`,
    `results: ${context.dir}`,
    `load average at start: ${header.loadAtStart.join(' ')}${header.busyMachine ? ` — measured on a busy machine (1-minute load above ${BUSY_LOAD}): the figures are lower bounds` : ''}`,
  ];
  for (const line of lines) process.stderr.write(`[bench] ${line}\n`);
}
