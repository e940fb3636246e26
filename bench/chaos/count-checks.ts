// The end of a chaos run: the counts the 202 answers imply against what every reader shows: the
// results JSON, a new SSE connection's first snapshot, and `tally verify` (its recount of the log
// per survey, and its comparison of every live partial). Every difference is listed by name.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VerifyReport } from '../../src/verify/verify-report.js';
import { PROJECT_ROOT } from '../lib/run-context.js';
import { EventSourceClient } from '../sse/event-source-client.js';

export interface SurveyCounts {
  responses: number;
  /** question id → option id → votes */
  votes: Record<string, Record<string, number>>;
}

interface ResultsView {
  totalResponses: number;
  questions: { id: string; options: { id: string; votes: number }[] }[];
}

function countsOf(view: ResultsView): SurveyCounts {
  const votes: Record<string, Record<string, number>> = {};
  for (const question of view.questions) {
    for (const option of question.options) if (option.votes > 0) (votes[question.id] ??= {})[option.id] = option.votes;
  }
  return { responses: view.totalResponses, votes };
}

/** Every difference between expected and shown, in words ("q 12 option 40: expected 17, shown 15"). */
export function differences(expected: SurveyCounts, shown: SurveyCounts): string[] {
  const found: string[] = [];
  if (expected.responses !== shown.responses) found.push(`responses: expected ${expected.responses}, shown ${shown.responses}`);
  const questions = new Set([...Object.keys(expected.votes), ...Object.keys(shown.votes)]);
  for (const question of questions) {
    const options = new Set([...Object.keys(expected.votes[question] ?? {}), ...Object.keys(shown.votes[question] ?? {})]);
    for (const option of options) {
      const want = expected.votes[question]?.[option] ?? 0;
      const got = shown.votes[question]?.[option] ?? 0;
      if (want !== got) found.push(`question ${question} option ${option}: expected ${want}, shown ${got}`);
    }
  }
  return found;
}

export async function resultsJson(broadcastPort: number, surveyId: string): Promise<ResultsView & { watermark: Record<string, string> }> {
  const response = await fetch(`http://127.0.0.1:${broadcastPort}/v1/surveys/${surveyId}/results`, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`GET results of ${surveyId}: ${response.status} ${await response.text()}`);
  return (await response.json()) as ResultsView & { watermark: Record<string, string> };
}

/**
 * Polls the results JSON until it equals `expected` or `timeoutMs` passes (a window or two for the
 * last partials to be published and merged); returns the differences left.
 */
export async function resultsJsonDifferences(broadcastPort: number, surveyId: string, expected: SurveyCounts, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left: string[] = ['no answer'];
  while (Date.now() < deadline) {
    try {
      left = differences(expected, countsOf(await resultsJson(broadcastPort, surveyId)));
      if (left.length === 0) return left;
    } catch (error) {
      left = [(error as Error).message];
    }
    await sleep(500);
  }
  return left;
}

/** A new SSE connection's first snapshot (the current one, sent at once). */
export async function firstSseSnapshot(broadcastPort: number, surveyId: string, timeoutMs: number): Promise<SurveyCounts> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no SSE snapshot for survey ${surveyId} within ${timeoutMs} ms`));
    }, timeoutMs);
    const client = new EventSourceClient({
      url: `http://127.0.0.1:${broadcastPort}/v1/surveys/${surveyId}/results/stream`,
      maxReconnects: 3,
      onEvent: (event) => {
        if (event.type !== 'snapshot') return;
        clearTimeout(timer);
        client.close();
        resolve(countsOf(JSON.parse(event.data) as ResultsView));
      },
    });
  });
}

/** `tally verify --json [--survey id]` with the run's environment: exit code and report. */
export async function runVerify(env: Record<string, string>, surveyId?: string): Promise<{ code: number; report: VerifyReport }> {
  const args = [join(PROJECT_ROOT, 'dist', 'src', 'cli.js'), 'verify', '--json', ...(surveyId ? ['--survey', surveyId] : [])];
  const result = await promisify(execFile)(process.execPath, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: typeof error.code === 'number' ? error.code : 2, stdout: error.stdout }),
  );
  return { code: result.code, report: JSON.parse(result.stdout) as VerifyReport };
}

/** The recount of one survey in a verify report, as counts. */
export function recountedCounts(report: VerifyReport): SurveyCounts {
  const survey = report.survey;
  if (!survey) return { responses: 0, votes: {} };
  const votes: Record<string, Record<string, number>> = {};
  for (const [question, options] of Object.entries(survey.votes)) {
    for (const [option, count] of Object.entries(options)) if (Number(count) > 0) (votes[question] ??= {})[option] = Number(count);
  }
  return { responses: survey.responses, votes };
}
