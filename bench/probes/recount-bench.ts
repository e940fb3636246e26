// Measures a full recount: `node dist/bench/probes/recount-bench.js [records] [--cli]`
// produces that many votes (default 300,000) to a fresh 6-partition topic, runs `verify` over it
// (in process, or with --cli as `node dist/src/cli.js verify` with its progress lines and text
// report), prints the rate, and deletes the topic. A measurement, not a test: nothing asserts a speed.
// Runs under the machine lock (lib/probe-run.ts).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/logger.js';
import { verify } from '../../src/verify/verifier.js';
import { testConfig } from '../../test/support/test-config.js';
import { produceVotes } from '../../test/verify/support/produce-votes.js';
import { deleteTestTopics } from '../../test/support/test-topics.js';
import { startProbe } from '../lib/probe-run.js';

await startProbe('recount-bench');

const count = Number(process.argv[2] ?? 300_000);
const viaCli = process.argv.includes('--cli');
const config = testConfig('recount-bench', { TALLY_VOTES_PARTITIONS: '6' });
const logger = createLogger('recount-bench', config);

async function inProcess(): Promise<void> {
  // CPU time as well as wall time: on a shared machine the wall-clock rate depends on the load.
  const cpuBefore = process.cpuUsage();
  const report = await verify(
    config,
    { onProgress: (p) => process.stderr.write(`  ${p.records} records after ${(p.elapsedMs / 1000).toFixed(1)} s\n`), progressIntervalMs: 1000 },
    logger,
  );
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  const rssMiB = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const { records, recountMs, recordsPerSecond, durationMs, ok } = report;
  const recordsPerCpuSecond = Math.round((records * 1000) / cpuMs);
  process.stdout.write(`${JSON.stringify({ records, recountMs, recordsPerSecond, cpuMs, recordsPerCpuSecond, totalMs: durationMs, rssMiB, ok })}\n`);
}

function throughCli(): void {
  const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
  const started = Date.now();
  const run = spawnSync(process.execPath, [cli, 'verify'], { env: { ...process.env, TALLY_VOTES_TOPIC: config.kafka.votesTopic }, stdio: 'inherit' });
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`tally verify exited ${run.status} after ${seconds.toFixed(1)} s wall clock, process start included: ${Math.round(count / seconds)} records/s\n`);
}

const produceStarted = Date.now();
await produceVotes(config, logger, { count });
process.stderr.write(`produced ${count} records in ${((Date.now() - produceStarted) / 1000).toFixed(1)} s\n`);
try {
  if (viaCli) throughCli();
  else await inProcess();
} finally {
  await deleteTestTopics(config);
}
