// What `tally verify` found, as data (`--json`) and as text for people.
import type { OptionCounts, RegionTally } from '../partition-tally.js';
import type { OutcomeCounts } from './partition-recount.js';

export type DifferenceKind =
  | 'checkpoint-chain-head'
  | 'checkpoint-tallies-digest'
  | 'checkpoint-merkle-root'
  | 'checkpoint-range'
  | 'checkpoint-beyond-log-end'
  | 'live-tally'
  | 'live-missing'
  | 'live-unreadable'
  | 'live-beyond-log-end'
  | 'live-behind-store';

export interface Difference {
  kind: DifferenceKind;
  partition: number;
  /** Checkpoints: their last_offset. Live tallies: their nextOffset (the state before it). */
  offset: string;
  surveyId?: string;
  checkpointId?: string;
  /** The recounted value and the stored one, when the difference is one value. */
  recount?: string;
  stored?: string;
  /** What differs, in words. */
  detail: string;
}

export interface PartitionSummary {
  partition: number;
  /** Log end offset captured at start: records [0, end) were recounted. */
  end: number;
  records: number;
  outcomes: OutcomeCounts;
  /** h(end - 1), lowercase hex (32 zero bytes for an empty partition). */
  chainHead: string;
  talliesDigest: string;
  checkpointsChecked: number;
  liveChecked: number;
}

export interface RecountedSurvey {
  surveyId: string;
  /** Summed over the recounted partitions, at their captured end offsets. */
  responses: number;
  votes: OptionCounts;
  regions: { [region: string]: RegionTally };
}

export interface VerifyReport {
  ok: boolean;
  topic: string;
  filter: { survey?: string; partition?: number };
  startedAt: string;
  durationMs: number;
  /** Time spent reading and recounting the log (the rate below is over this time). */
  recountMs: number;
  records: number;
  recordsPerSecond: number;
  partitions: PartitionSummary[];
  checkpoints: { checked: number; matched: number };
  live: {
    checked: number;
    matched: number;
    /** Surveys whose live partials were compared. */
    surveys: string[];
    /** Live surveys with no record in the recounted partitions: another topic's, not comparable. */
    skippedSurveys: string[];
  };
  /** With --survey: the recounted result of that survey. */
  survey?: RecountedSurvey;
  /** In (partition, offset) order; the first is the first mismatch. Capped at MAX_REPORTED_DIFFERENCES. */
  differences: Difference[];
  differenceCount: number;
}

export const MAX_REPORTED_DIFFERENCES = 100;

const number = (n: number): string => n.toLocaleString('en-US');

function describe(difference: Difference): string {
  const where = `partition ${difference.partition} at offset ${difference.offset}`;
  const what = difference.surveyId !== undefined ? `survey ${difference.surveyId}, ` : difference.checkpointId !== undefined ? `checkpoint #${difference.checkpointId}, ` : '';
  return `${difference.kind} (${what}${where}): ${difference.detail}`;
}

export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  const seconds = (report.durationMs / 1000).toFixed(1);
  const filter = [report.filter.survey !== undefined ? `survey ${report.filter.survey}` : '', report.filter.partition !== undefined ? `partition ${report.filter.partition}` : '']
    .filter(Boolean)
    .join(', ');
  lines.push(`tally verify: topic ${report.topic}${filter ? ` (${filter})` : ''}`);
  lines.push(`recounted ${number(report.records)} records in ${report.partitions.length} partitions, ${seconds} s (${number(report.recordsPerSecond)} records/s)`);
  lines.push('');
  lines.push('partition  records      accepted     duplicate  invalid  checkpoints  live  chain head');
  for (const p of report.partitions) {
    lines.push(
      [
        String(p.partition).padEnd(9),
        number(p.records).padEnd(12),
        number(p.outcomes.accepted).padEnd(12),
        number(p.outcomes.duplicate).padEnd(10),
        number(p.outcomes.invalid).padEnd(8),
        String(p.checkpointsChecked).padEnd(11),
        String(p.liveChecked).padEnd(4),
        p.chainHead,
      ].join('  '),
    );
  }
  lines.push('');
  lines.push(`checkpoints:  ${report.checkpoints.matched} of ${report.checkpoints.checked} match (chain head and tallies digest)`);
  lines.push(`live tallies: ${report.live.matched} of ${report.live.checked} partials match, surveys compared: ${report.live.surveys.length ? report.live.surveys.join(', ') : 'none'}`);
  const skipped = report.live.skippedSurveys;
  if (skipped.length > 0) {
    const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, … (${skipped.length} in all, see --json)` : '');
    lines.push(`              skipped, no record of theirs in the recounted partitions (another topic's?): ${shown}`);
  }
  if (report.survey !== undefined) lines.push(`survey ${report.survey.surveyId}: ${number(report.survey.responses)} responses, votes ${JSON.stringify(report.survey.votes)}`);
  lines.push('');
  if (report.ok && report.checkpoints.checked + report.live.checked === 0) {
    lines.push('OK, but nothing to compare: no checkpoint and no live tally describes these partitions yet. The chain heads above are the recount\'s.');
  } else if (report.ok) {
    lines.push('OK: the recount matches every checkpoint and live tally checked.');
  } else {
    lines.push(`MISMATCH (TALLY_ERR_VERIFY_MISMATCH): ${report.differenceCount} difference(s). First: ${describe(report.differences[0]!)}`);
    for (const difference of report.differences.slice(1, 20)) lines.push(`  also: ${describe(difference)}`);
    if (report.differenceCount > 20) lines.push(`  … ${report.differenceCount - 20} more (see --json)`);
  }
  return `${lines.join('\n')}\n`;
}
