#!/usr/bin/env node
// Builds the broadcaster's optional C addon (src/broadcast/native/socket-batch-write.c) with the
// machine's gcc against this Node's own headers, into dist/native/. Best effort on purpose: without
// gcc or the headers it says why and exits 0, and the broadcaster writes through
// socket-direct-write.ts instead (it logs that once at start). Rebuilds only when the source or the
// Node version changed (a stamp beside the output).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/broadcast/native/socket-batch-write.c');
const output = join(root, 'dist/native/socket-batch-write.node');
const stampFile = `${output}.stamp`;

const headerDirs = [resolve(process.execPath, '../../include/node'), '/usr/include/node', '/usr/local/include/node'];
const headers = headerDirs.find((dir) => existsSync(join(dir, 'node_api.h')));
const stamp = createHash('sha256').update(readFileSync(source)).update(process.version).digest('hex');

if (existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) process.exit(0);
if (!headers) {
  console.warn(`[build-native] not built: no node_api.h in ${headerDirs.join(', ')}; the broadcaster will use its direct write path`);
  process.exit(0);
}
mkdirSync(dirname(output), { recursive: true });
const building = `${output}.${process.pid}.tmp`;
try {
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', `-I${headers}`, '-o', building, source], { stdio: ['ignore', 'pipe', 'pipe'] });
} catch (error) {
  const reason = error.stderr?.toString().trim() || error.message;
  console.warn(`[build-native] not built (gcc: ${reason}); the broadcaster will use its direct write path`);
  process.exit(0);
}
renameSync(building, output);
writeFileSync(stampFile, stamp);
console.log(`[build-native] built ${output.slice(root.length + 1)}`);
