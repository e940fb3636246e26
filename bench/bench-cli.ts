#!/usr/bin/env node
// `npm run bench -- <scenario> [options]`: drives the real pipeline and reports how fast and how
// exact it is. Every scenario starts the roles it needs as child processes, prints the machine,
// versions and command line, and writes result.json + report.md + SVG plots under bench/results/.
// Every scenario runs under the machine lock (lib/machine-lock.ts), however it was started.
// See bench/README.md.
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { holdMachineLock } from './lib/machine-lock.js';
import { collect, decimal, integer, integerList, oneOf } from './lib/option-parsers.js';
import { SWARM_KINDS } from './sse/swarm-kind.js';

const program = new Command()
  .name('npm run bench --')
  .description('tally bench harness: ingest, aggregate, fanout, e2e. Results: bench/results/<scenario>-<run id>/ (result.json, report.md, *.svg).')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true })
  .option('--results <dir>', 'results folder (default bench/results)');

function resultsDir(): string | undefined {
  return program.opts<{ results?: string }>().results;
}

program
  .command('aggregate')
  .description('generator → votes topic (Avro, real registry) → aggregator role; sustained votes/s, consumer lag, exactness of the final tallies (exit 1 if they differ)')
  .option('--votes <n>', 'records to write', integer(1), 1_000_000)
  .option('--rate <n>', 'target records/s for the generator (0 = as fast as it can)', integer(0), 240_000)
  .option('--surveys <n>', 'surveys', integer(1, 100_000), 100)
  .option('--zipf <s>', 'Zipf exponent of survey popularity (0 = uniform)', decimal(0, 5), 1.1)
  .option('--questions <n>', 'questions per survey', integer(1, 8), 3)
  .option('--options <n>', 'options per question', integer(2, 100), 4)
  .option('--duplicate-ratio <r>', 'share of records repeating answers already counted', decimal(0, 1, { exclusiveMax: true }), 0.1)
  .option('--invalid-ratio <r>', 'share of invalid records (→ DLQ)', decimal(0, 1, { exclusiveMax: true }), 0.01)
  .option('--follow-up-ratio <r>', 'share of records where a voter adds an answer to a new question', decimal(0, 1, { exclusiveMax: true }), 0.05)
  .option('--hot-shards <k>', 'key shards of the most popular survey (1 = not sharded)', integer(1, 1024), 6)
  .option('--partitions <n>', 'partitions of the votes topic', integer(1, 256), 6)
  .option('--workers <n>', 'aggregator worker threads (TALLY_WORKER_THREADS)', integer(1, 64), 2)
  .option('--batch <n>', 'records per producer request', integer(1, 100_000), 5000)
  .option('--in-flight <n>', 'producer requests queued at once', integer(1, 64), 4)
  .option('--preload', 'write every record first, then start the aggregator (measures the aggregator alone)', false)
  .option('--seed <n>', 'PRNG seed (same seed, same records)', integer(0, 2 ** 32 - 1), 1)
  .option('--drain-timeout <s>', 'give up waiting for the aggregator after this many seconds', integer(1), 900)
  .option('--keep', 'keep the topics, group, Redis keys and data dir after the run', false)
  .option('--profile', 'sample the aggregator with perf (linux-perf) and report its CPU per stage', false)
  .option('--no-ceiling', 'skip the kafkajs consume ceiling measured on the same topic after the aggregator')
  .action(async (options) => {
    await holdMachineLock();
    const { runAggregate } = await import('./aggregate/aggregate-scenario.js');
    process.exitCode = await runAggregate({ ...options, results: resultsDir() });
  });

program
  .command('ingest')
  .description('HTTP votes → ingest role (a cluster) → Kafka, then a bare Fastify route in the same shape with the same generator; votes/s, CPU per vote, latency, tally ÷ bare, exactly-once check')
  .option('--concurrency <n>', 'keep-alive connections of the generator (one request in flight on each); 256 keeps ingest busy (bench/README.md)', integer(1, 10_000), 256)
  .option('--duration <s>', 'measured seconds per phase', integer(1, 3600), 30)
  .option('--warmup <s>', 'seconds of load before measuring, per phase', integer(0, 600), 5)
  .option('--rate <n>', 'total votes/s (0 = closed loop: each connection sends as soon as it has an answer)', integer(0), 0)
  .option('--paced-concurrency <n>', 'connections of paced phases (0 = 4 × --concurrency): an open loop must not queue behind a few busy sockets', integer(0, 10_000), 0)
  .option('--paced-fraction <f>', 'after a closed-loop phase, a paced phase at this fraction of its rate (0 = none)', decimal(0, 1), 0.8)
  .option('--processes <n>', 'ingest processes (TALLY_INGEST_PROCESSES) and bare-route processes', integer(1, 64), availableParallelism())
  .option('--no-peer', 'skip the bare Fastify route phase')
  .option('--voters <n>', 'voter tokens minted before the load (one per request; more are minted on the fly and reported)', integer(1, 10_000_000), 400_000)
  .option('--surveys <n>', 'surveys per phase (created and published through the API)', integer(1, 1000), 10)
  .option('--questions <n>', 'questions per survey (each vote answers all)', integer(1, 20), 3)
  .option('--options <n>', 'options per question', integer(2, 100), 4)
  .option('--zipf <s>', 'Zipf exponent of survey popularity', decimal(0, 5), 1.1)
  .option('--partitions <n>', 'partitions of the votes topic', integer(1, 256), 6)
  .option('--seed <n>', 'PRNG seed', integer(0, 2 ** 32 - 1), 1)
  .option('--keep', 'keep the topic, the surveys and their one-vote claim keys in Redis after the run', false)
  .option('--cpu-prof', 'write a V8 CPU profile of every ingest process into the results folder', false)
  .action(async (options) => {
    await holdMachineLock();
    const { runIngest } = await import('./ingest/ingest-scenario.js');
    process.exitCode = await runIngest({ ...options, results: resultsDir() });
  });

program
  .command('fanout')
  .description('K raw SSE clients (child processes, source addresses 127.0.0.2-254) on a broadcaster cluster sized for K; window close → last client per snapshot, completeness, set-up time, CPU and memory')
  .option('--clients <list>', 'client counts, comma-separated, run in ascending order; stops at the first that fails', integerList(1, 1_000_000), [10_000, 50_000, 250_000])
  .option('--surveys <n>', 'surveys the clients are spread over', integer(1, 100), 1)
  .option('--duration <s>', 'measured seconds per client count', integer(5, 3600), 30)
  .option('--window-ms <ms>', 'broadcast window (TALLY_WINDOW_MS)', integer(50, 60_000), 1000)
  .option('--update-ms <ms>', 'how often the tallies change (one partition per survey per update); keep ≥ 2 windows', integer(50, 60_000), 2000)
  .option('--partitions <n>', 'partitions the fed partials come from', integer(1, 256), 6)
  .option('--clients-per-process <n>', 'raw clients per swarm process (open-file limit 20,000; default 16,000 lean, 15,000 node)', integer(1, 19_500))
  .option('--swarm <kind>', 'client swarm: lean (C program, epoll, built with gcc) or node (net.Socket children)', oneOf(SWARM_KINDS), 'lean')
  .option('--peer <name>', 'also run this server on the same swarm and sizes: floor (C epoll), node-min (bare Node net cluster), nchan (nginx + nchan); repeatable', collect(['floor', 'node-min', 'nchan']), [])
  .option('--connect-concurrency <n>', 'pending connects per swarm child', integer(1, 10_000), 200)
  .option('--checkers <n>', 'standard (full-parsing) event-stream clients per survey', integer(0, 100), 2)
  .option('--keep', 'keep the surveys and Redis keys after the run', false)
  .option('--repeat <n>', 'run tally and every peer this many times per client count, the order rotating; figures use each server\'s median run', integer(1, 9), 1)
  .option('--cpu-prof', 'write a V8 CPU profile of every broadcaster (and node-min peer) process into the results folder', false)
  .action(async (options) => {
    await holdMachineLock();
    const { runFanout } = await import('./fanout/fanout-scenario.js');
    process.exitCode = await runFanout({ ...options, results: resultsDir() });
  });

program
  .command('e2e')
  .description('votes over HTTP at a rate while K clients listen (ingest, aggregate, broadcast roles); vote accepted → visible on clients')
  .option('--clients <n>', 'raw SSE clients listening', integer(0, 1_000_000), 10_000)
  .option('--rate <n>', 'votes/s', integer(1), 500)
  .option('--concurrency <n>', 'concurrent vote requests', integer(1, 10_000), 32)
  .option('--duration <s>', 'seconds of votes', integer(1, 3600), 30)
  .option('--surveys <n>', 'surveys', integer(1, 100), 1)
  .option('--window-ms <ms>', 'broadcast window (TALLY_WINDOW_MS)', integer(50, 60_000), 1000)
  .option('--partitions <n>', 'partitions of the votes topic', integer(1, 256), 6)
  .option('--clients-per-process <n>', 'raw clients per swarm process (open-file limit 20,000; default 16,000 lean, 15,000 node)', integer(1, 19_500))
  .option('--swarm <kind>', 'client swarm: lean (C program, epoll, built with gcc) or node (net.Socket children)', oneOf(SWARM_KINDS), 'lean')
  .option('--connect-concurrency <n>', 'pending connects per swarm child', integer(1, 10_000), 200)
  .option('--grace-seconds <s>', 'wait after the last vote for it to show', integer(1, 600), 10)
  .option('--keep', 'keep the topic, group and surveys after the run', false)
  .action(async (options) => {
    await holdMachineLock();
    const { runE2e } = await import('./e2e/e2e-scenario.js');
    process.exitCode = await runE2e({ ...options, results: resultsDir() });
  });

program
  .command('chaos')
  .description('votes over HTTP through ingest, aggregate and broadcast while a fault schedule hits every dependency (kill -9 aggregator ×N, a broker with --brokers 3, Redis and PostgreSQL restarts, registry SIGSTOP, a broadcaster process); per fault: time until served again, 503s, max lag; at the end results JSON, SSE and `tally verify` must equal the counts the 202 answers imply (exit 1 on any difference)')
  .option('--brokers <n>', '1 = the stack\'s broker on 9092, 3 = the 3-node cluster (`npm run stack -- up --brokers 3`, started if needed)', integer(1, 3), 1)
  .option('--rate <n>', 'new ballots per second (each retried until it has a definitive answer)', integer(1, 10_000), 200)
  .option('--surveys <n>', 'surveys', integer(1, 100), 3)
  .option('--partitions <n>', 'partitions of the votes topic', integer(1, 256), 6)
  .option('--workers <n>', 'aggregator worker threads', integer(1, 64), 1)
  .option('--aggregator-kills <n>', 'kill -9 of the aggregator in the schedule', integer(0, 100), 3)
  .option('--warmup <s>', 'seconds of load before the first fault', integer(0, 3600), 10)
  .option('--gap <s>', 'seconds between a fault served again and the next fault', integer(0, 3600), 5)
  .option('--tail <s>', 'seconds of load after the last fault', integer(0, 3600), 5)
  .option('--broker-down <s>', 'seconds a killed broker stays down', integer(0, 3600), 10)
  .option('--registry-stop <s>', 'seconds the schema registry stays SIGSTOPped', integer(1, 600), 10)
  .option('--served-timeout <s>', 'a fault not served again within this fails the run', integer(5, 3600), 90)
  .option('--seed <n>', 'PRNG seed', integer(0, 2 ** 32 - 1), 1)
  .option('--session-timeout <ms>', 'the aggregator\'s consumer session (TALLY_AGGREGATE_SESSION_TIMEOUT_MS; the 3-node cluster allows ≥ 1000, the single broker ≥ 6000)', integer(1000, 300_000))
  .option('--no-prometheus', 'do not run a Prometheus with ops/prometheus/tally-alerts.yml beside the run')
  .option('--keep', 'keep the topics, group and surveys after the run', false)
  .action(async (options) => {
    if (options.brokers === 2) program.error('--brokers must be 1 or 3');
    await holdMachineLock();
    const { runChaos } = await import('./chaos/chaos-scenario.js');
    process.exitCode = await runChaos({ ...options, sessionTimeoutMs: options.sessionTimeout, results: resultsDir() });
  });

program.addHelpText(
  'after',
  '\nExamples:\n  npm run bench -- ingest --concurrency 64 --duration 30\n  npm run bench -- ingest --rate 5000 --no-peer\n  npm run bench -- aggregate --votes 1000000\n  npm run bench -- aggregate --preload --rate 0\n  npm run bench -- fanout --clients 10000,50000,250000\n  npm run bench -- e2e --clients 10000 --rate 500\n  npm run bench -- chaos --brokers 3\n  npm run bench -- <scenario> --help',
);

await program.parseAsync(process.argv);
// Child processes and sockets are closed by the scenarios; exit explicitly so a lingering handle
// in a client library cannot keep a finished run alive.
process.exit(process.exitCode ?? 0);
