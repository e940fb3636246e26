// `tally verify [--survey ID] [--partition P] [--json]`: recounts the votes topic and prints the
// report on stdout (text, or JSON with --json); progress and logs go to stderr.
// Exit status: 0 everything checked matches, 1 a difference was found, 2 the run could not verify.
import { pino } from 'pino';
import type { TallyConfig } from '../config.js';
import { isTallyError } from '../errors.js';
import { createLogger } from '../logger.js';
import { verify, type RecountProgress } from './verifier.js';
import { formatReport } from './verify-report.js';

export const EXIT_MATCH = 0;
export const EXIT_DIFFERENCE = 1;
export const EXIT_INCOMPLETE = 2;

export async function runVerify(config: TallyConfig, options: { survey?: string; partition?: number; json?: boolean }): Promise<number> {
  const logger = createLogger('verify', config, pino.destination(2));
  if (options.partition !== undefined && (!Number.isInteger(options.partition) || options.partition < 0)) {
    process.stderr.write('tally verify: --partition must be a partition number\n');
    return EXIT_INCOMPLETE;
  }
  try {
    const report = await verify(config, { survey: options.survey, partition: options.partition, onProgress: printProgress }, logger);
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? EXIT_MATCH : EXIT_DIFFERENCE;
  } catch (error) {
    const code = isTallyError(error) ? error.code : 'TALLY_ERR_INTERNAL';
    const message = (error as Error).message ?? String(error);
    if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message } }, null, 2)}\n`);
    process.stderr.write(`tally verify: could not verify: ${code}: ${message}\n`);
    if (!isTallyError(error)) logger.error({ err: error }, 'verify failed');
    return EXIT_INCOMPLETE;
  }
}

/** One line per interval on stderr: overall rate and how far each partition is. */
function printProgress(progress: RecountProgress): void {
  const seconds = progress.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(progress.records / seconds) : 0;
  const partitions = progress.partitions
    .map((p) => `p${p.partition} ${p.end === 0 ? 100 : Math.floor((100 * p.nextOffset) / p.end)}%`)
    .join(' ');
  process.stderr.write(`verify: ${progress.records.toLocaleString('en-US')} records, ${rate.toLocaleString('en-US')} records/s, ${partitions}\n`);
}
