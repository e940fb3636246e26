// The read side of surveys for the hot paths (vote validation, public GET): definitions cached in
// memory for `ttlMs`, with the lookups a vote needs built once per load and the public JSON
// serialized once. Management writes in this process invalidate at once; another ingest process
// sees a change (e.g. finish) within ttlMs — the aggregator does not depend on it.
import type { SurveyStore } from './survey-store.js';
import type { SurveyView } from './survey-model.js';

export interface QuestionRule {
  min: number;
  max: number;
  options: ReadonlySet<string>;
}

export interface CatalogSurvey {
  readonly survey: SurveyView;
  readonly questions: ReadonlyMap<string, QuestionRule>;
  /** The regions a vote may name. */
  readonly regions: ReadonlySet<string>;
  /** GET /v1/surveys/:id body, serialized once. */
  readonly publicJson: string;
}

interface Entry {
  value: Promise<CatalogSurvey | null>;
  expiresAt: number;
}

export const DEFAULT_CATALOG_TTL_MS = 1000;
/** Bounds memory when clients ask for many unknown ids (misses are cached too). */
const MAX_ENTRIES = 10_000;

export function toCatalogSurvey(survey: SurveyView): CatalogSurvey {
  const questions = new Map<string, QuestionRule>();
  for (const q of survey.questions) questions.set(q.id, { min: q.min, max: q.max, options: new Set(q.options.map((o) => o.id)) });
  const { shards: _shards, ...publicView } = survey;
  return { survey, questions, regions: new Set(survey.regions), publicJson: JSON.stringify(publicView) };
}

export class SurveyCatalog {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: SurveyStore,
    private readonly ttlMs: number = DEFAULT_CATALOG_TTL_MS,
  ) {}

  /** The survey, or null if it does not exist. Concurrent misses share one PostgreSQL load. */
  get(id: string): Promise<CatalogSurvey | null> {
    const now = Date.now();
    const cached = this.entries.get(id);
    if (cached !== undefined && cached.expiresAt > now) return cached.value;
    const value = this.store.get(id).then((survey) => (survey === null ? null : toCatalogSurvey(survey)));
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const entry = { value, expiresAt: now + this.ttlMs };
    this.entries.set(id, entry);
    value.catch(() => {
      if (this.entries.get(id) === entry) this.entries.delete(id); // never cache a failure
    });
    return value;
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }
}
