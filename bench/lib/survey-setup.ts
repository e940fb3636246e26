// Surveys for a run, created and published through the ingest API (admin token), as an operator
// would: scenarios that go through ingest or broadcast need real surveys in PostgreSQL.
import type { TallyConfig } from '../../src/config.js';
import { mintToken } from '../../src/ingest/tokens.js';

export interface BenchSurvey {
  id: string;
  questions: { id: string; options: string[] }[];
}

interface SurveyView {
  id: string;
  questions: { id: string; options: { id: string }[] }[];
}

async function call(url: string, method: string, token: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The regions the bench's votes name (ingest and e2e scenarios); every bench survey declares them. */
export const BENCH_REGIONS: readonly string[] = ['EU', 'NA', 'APAC'];

export async function createSurveys(
  config: TallyConfig,
  ingestPort: number,
  spec: { count: number; questions: number; options: number; shards?: (index: number) => number; runId: string; regions?: readonly string[] },
): Promise<BenchSurvey[]> {
  const admin = mintToken(config, { kind: 'admin' }, 3600);
  const base = `http://127.0.0.1:${ingestPort}/v1/internal/surveys`;
  const surveys: BenchSurvey[] = [];
  for (let i = 0; i < spec.count; i++) {
    const created = (await call(base, 'POST', admin, {
      title: `bench ${spec.runId} #${i}`,
      shards: spec.shards?.(i) ?? 1,
      // Regions are declared per survey (a vote naming another one is refused): the bench's.
      regions: spec.regions ?? BENCH_REGIONS,
      questions: Array.from({ length: spec.questions }, (_, q) => ({
        title: `question ${q}`,
        min: 1,
        max: 1,
        options: Array.from({ length: spec.options }, (_, o) => ({ text: `option ${o}` })),
      })),
    })) as SurveyView;
    await call(`${base}/${created.id}/publish`, 'PUT', admin);
    surveys.push({ id: created.id, questions: created.questions.map((q) => ({ id: q.id, options: q.options.map((o) => o.id) })) });
  }
  return surveys;
}

/** Removes the run's surveys (best effort: a bench must not leave the catalogue growing). */
export async function deleteSurveys(config: TallyConfig, ingestPort: number, surveys: BenchSurvey[]): Promise<void> {
  const admin = mintToken(config, { kind: 'admin' }, 3600);
  for (const survey of surveys) await call(`http://127.0.0.1:${ingestPort}/v1/internal/surveys/${survey.id}`, 'DELETE', admin).catch(() => undefined);
}
