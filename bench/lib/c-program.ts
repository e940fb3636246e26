// Small C programs the bench builds itself (the lean SSE swarm, the C floor server): compiled with
// the machine's gcc on first use into a cache dir under the system temp dir, named after a hash of
// the source and flags, so an edited source is rebuilt and an unchanged one is not.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import { isAbsolute, join } from 'node:path';
import { PROJECT_ROOT } from './run-context.js';

export const C_PROGRAM_CACHE = join(os.tmpdir(), 'tally-bench-c');
const FLAGS = ['-O2', '-Wall', '-Wextra', '-Werror'];

/** The path of the built program for `source` (absolute, or relative to the project root, e.g. bench/sse/sse-swarm.c). */
export function cProgram(source: string, cacheDir = C_PROGRAM_CACHE): string {
  const sourcePath = isAbsolute(source) ? source : join(PROJECT_ROOT, source);
  const text = readFileSync(sourcePath);
  const hash = createHash('sha256').update(text).update(FLAGS.join(' ')).digest('hex').slice(0, 16);
  const name = source.replace(/^.*\//, '').replace(/\.c$/, '');
  const binary = join(cacheDir, `${name}-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const building = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', [...FLAGS, '-o', building, sourcePath], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`gcc could not build ${source}: ${stderr || (error as Error).message}`);
  }
  renameSync(building, binary);
  return binary;
}
