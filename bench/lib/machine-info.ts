// What every run prints first: the machine, the versions, the exact command line. A figure
// without these cannot be compared with another one.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
  kernel: string;
  openFilesLimit: string;
  ephemeralPorts: string;
}

export interface Versions {
  node: string;
  kafka: string;
  apicurio: string;
  tally: string;
  packages: Record<string, string>;
}

const PACKAGES = ['kafkajs', 'fastify', 'fastify-sse-v2', 'ioredis', 'avsc', 'rocksdb', 'piscina', 'hdr-histogram-js', 'vega', 'vega-lite'];

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().replace(/\s+/g, ' ');
  } catch {
    return 'unknown';
  }
}

function openFilesLimit(): string {
  const limits = readTrimmed('/proc/self/limits');
  const match = /Max open files\s+(\S+)\s+(\S+)/.exec(limits.replace(/ (?=Max )/g, '\n'));
  return match ? `${match[1]} (soft) / ${match[2]} (hard)` : 'unknown';
}

/** The load averages (1, 5, 15 min), two decimals. */
export function loadAverage(): number[] {
  return os.loadavg().map((n) => Math.round(n * 100) / 100);
}

/**
 * A 1-minute load average above this when a run starts: other work was using the CPU (2 cores
 * here), so the run's figures are lower bounds; its report says "measured on a busy machine".
 */
export const BUSY_LOAD = 1.5;

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadAverage(),
    kernel: `${os.type()} ${os.release()}`,
    openFilesLimit: openFilesLimit(),
    ephemeralPorts: readTrimmed('/proc/sys/net/ipv4/ip_local_port_range'),
  };
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

/** Versions of the jar files the stack script installed (stack/stack.sh keeps them under .stack/). */
function jarVersion(dir: string, pattern: RegExp): string {
  if (!existsSync(dir)) return 'unknown (no local stack)';
  for (const file of readdirSync(dir)) {
    const match = pattern.exec(file);
    if (match) return match[1]!;
  }
  return 'unknown';
}

export function versions(root: string): Versions {
  const tally = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    node: process.version,
    kafka: jarVersion(join(root, '.stack', 'kafka', 'libs'), /^kafka_2\.13-(\d[\w.-]*)\.jar$/),
    apicurio: jarVersion(join(root, '.stack', 'apicurio'), /^apicurio-registry-app-(\d[\w.-]*)-runner\.jar$/),
    tally,
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(root, name)])),
  };
}
