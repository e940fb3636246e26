#!/usr/bin/env node
// `tally <role>`: one codebase, one CLI. Roles run as separate processes in production;
// `tally all` runs them side by side on one machine for development.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { loadConfig, type TallyConfig } from './config.js';
import { isTallyError } from './errors.js';
import { createLogger } from './logger.js';
import { closeOnSignals, type StartRole } from './role.js';

function configOrExit(): TallyConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (isTallyError(error, 'TALLY_ERR_CONFIG')) {
      process.stderr.write(`tally: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function runRole(role: string, load: () => Promise<{ start: StartRole }>): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(role, config);
  const { start } = await load();
  const running = await start(config);
  logger.info({ addresses: running.addresses }, `${role} started`);
  closeOnSignals(() => running.close(), (message) => logger.info(message));
}

const program = new Command()
  .name('tally')
  .description('Real-time vote tally engine. Roles: ingest, aggregate, broadcast, verify.\nConfiguration: TALLY_* environment variables (see README).')
  .showHelpAfterError();

program
  .command('ingest')
  .description('HTTP API: survey management and vote submission into Kafka')
  .action(() => runRole('ingest', () => import('./ingest/ingest-role.js')));

program
  .command('aggregate')
  .description('Kafka consumer group → per-partition exactly-once tallies in RocksDB → Redis')
  .action(() => runRole('aggregate', () => import('./aggregate/aggregate-role.js')));

program
  .command('broadcast')
  .description('SSE server: windowed snapshots of survey results, dashboard page')
  .action(() => runRole('broadcast', () => import('./broadcast/broadcast-role.js')));

program
  .command('verify')
  .description('Recount the votes topic independently; compare with checkpoints and live tallies')
  .option('--survey <id>', 'only this survey')
  .option('--partition <n>', 'only this partition', (value) => Number.parseInt(value, 10))
  .option('--json', 'print the report as JSON')
  .action(async (options: { survey?: string; partition?: number; json?: boolean }) => {
    const { runVerify } = await import('./verify/verify-command.js');
    process.exitCode = await runVerify(configOrExit(), options);
  });

program
  .command('verify-receipt')
  .description('Check a vote receipt (file, or - for stdin) with its Merkle proof against the published checkpoints')
  .argument('<file>', 'the 202 body, its receipt, or a saved proof (JSON); - reads stdin')
  .option('--url <url>', 'base URL of the public API (default http://127.0.0.1:TALLY_INGEST_PORT)')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, options: { url?: string; json?: boolean }) => {
    const { runVerifyReceipt } = await import('./verify/verify-receipt-command.js');
    process.exitCode = await runVerifyReceipt(configOrExit(), file, options);
  });

program
  .command('lag')
  .description('Consumer lag per partition of the votes topic')
  .option('--json', 'print as JSON')
  .action(async (options: { json?: boolean }) => {
    const { runLag } = await import('./aggregate/lag-command.js');
    process.exitCode = await runLag(configOrExit(), options);
  });

program
  .command('token')
  .description('Mint a token from the configured secrets (development, demos, bench)')
  .addOption(new Option('--admin', 'an admin token (scope: admin)').conflicts('voter'))
  .addOption(new Option('--voter <id>', 'a voter token for this voter identity'))
  .option('--ttl <seconds>', 'lifetime in seconds', (value) => Number.parseInt(value, 10), 3600)
  .action(async (options: { admin?: boolean; voter?: string; ttl: number }) => {
    if (!options.admin && !options.voter) program.error('tally token: give --admin or --voter <id>');
    const { mintToken } = await import('./ingest/tokens.js');
    process.stdout.write(`${mintToken(configOrExit(), options.admin ? { kind: 'admin' } : { kind: 'voter', voterId: options.voter! }, options.ttl)}\n`);
  });

program
  .command('migrate')
  .description('Apply PostgreSQL migrations (as TALLY_PG_ADMIN_URL)')
  .action(async () => {
    const config = configOrExit();
    const { migrate } = await import('./db/postgres.js');
    const applied = await migrate(config, createLogger('migrate', config));
    process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'schema is up to date\n');
  });

program
  .command('demo')
  .description('Create and publish a demo survey, send a trickle of demo votes, print the dashboard URL')
  .option('--rate <votesPerSecond>', 'demo votes per second', (value) => Number.parseFloat(value), 20)
  .action(async (options: { rate: number }) => {
    const { runDemo } = await import('./demo.js');
    await runDemo(configOrExit(), options);
  });

program
  .command('all')
  .description('Run ingest, aggregate and broadcast as child processes (development)')
  .option('--demo', 'also run `tally demo`')
  .action((options: { demo?: boolean }) => {
    configOrExit(); // fail fast here rather than three times in the children
    const cli = fileURLToPath(import.meta.url);
    const roles = ['ingest', 'aggregate', 'broadcast', ...(options.demo ? ['demo'] : [])];
    const children: ChildProcess[] = roles.map((role) => {
      const child = spawn(process.execPath, [cli, role], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('exit', (code, signal) => {
        process.stderr.write(`tally all: ${role} exited (${signal ?? code})\n`);
        if (!stopping && role !== 'demo') stop(1);
      });
      return child;
    });
    let stopping = false;
    const stop = (code: number) => {
      stopping = true;
      for (const child of children) child.kill('SIGTERM');
      setTimeout(() => process.exit(code), 15_000).unref();
      Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
    };
    process.on('SIGINT', () => stop(0));
    process.on('SIGTERM', () => stop(0));
  });

await program.parseAsync(process.argv);
