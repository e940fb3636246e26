// The read side of surveys for the hot paths (vote validation, public GET): definitions cached in
// memory for `ttlMs`, with the lookups a vote needs built once per load and the public JSON
// serialized once. Management writes in this process invalidate at once; another ingest process
// sees a change (e.g. finish) within ttlMs — the aggregator does not depend on it.
//
// Keeping hot entries fresh costs one query per ttlMs / 2 for all of them (revalidate): every write
// of a survey changes its updated_at, so an entry whose version is still the current one is kept
// for another ttlMs, and only a changed, deleted or newly created survey is loaded again. Reloading
// each survey whenever it expired (two queries and a rebuild per survey per second per process) was
// 2-3 % of an ingest worker's CPU under the bench's load.
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
  /** updated_at of the loaded survey; null for a survey that did not exist; undefined while loading. */
  version?: string | null;
}

export const DEFAULT_CATALOG_TTL_MS = 1000;
/** Bounds memory when clients ask for many unknown ids (misses are cached too). */
const MAX_ENTRIES = 10_000;
/** Revalidation stops after this many ttls without a lookup (entries then expire and load again). */
const IDLE_TTLS = 10;

export function toCatalogSurvey(survey: SurveyView): CatalogSurvey {
  const questions = new Map<string, QuestionRule>();
  for (const q of survey.questions) questions.set(q.id, { min: q.min, max: q.max, options: new Set(q.options.map((o) => o.id)) });
  const { shards: _shards, ...publicView } = survey;
  return { survey, questions, regions: new Set(survey.regions), publicJson: JSON.stringify(publicView) };
}

type CatalogStore = Pick<SurveyStore, 'getVersioned' | 'versions'>;

export class SurveyCatalog {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private lastLookup = 0;

  constructor(
    private readonly store: CatalogStore,
    private readonly ttlMs: number = DEFAULT_CATALOG_TTL_MS,
    private readonly now: () => number = Date.now,
    /** false: revalidate() only when called (tests) */
    private readonly autoRevalidate = true,
  ) {}

  /** The survey, or null if it does not exist. Concurrent misses share one PostgreSQL load. */
  get(id: string): Promise<CatalogSurvey | null> {
    const now = this.now();
    this.lastLookup = now;
    const cached = this.entries.get(id);
    if (cached !== undefined && cached.expiresAt > now) return cached.value;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const entry: Entry = { value: null!, expiresAt: now + this.ttlMs };
    entry.value = this.store.getVersioned(id).then((loaded) => {
      entry.version = loaded === null ? null : loaded.version;
      return loaded === null ? null : toCatalogSurvey(loaded.survey);
    });
    this.entries.set(id, entry);
    entry.value.catch(() => {
      if (this.entries.get(id) === entry) this.entries.delete(id); // never cache a failure
    });
    this.schedule();
    return entry.value;
  }

  invalidate(id: string): void {
    this.entries.delete(id);
  }

  /**
   * One query for every loaded entry: unchanged ones are kept for another ttlMs from the moment of
   * the query; changed, deleted or created ones are dropped (the next lookup loads them). A failed
   * query changes nothing (entries expire as usual).
   */
  async revalidate(): Promise<void> {
    const startedAt = this.now();
    const checked = [...this.entries].filter(([, entry]) => entry.version !== undefined);
    if (checked.length === 0) return;
    let current: Map<string, string>;
    try {
      current = await this.store.versions(checked.map(([id]) => id));
    } catch {
      return;
    }
    for (const [id, entry] of checked) {
      if (this.entries.get(id) !== entry) continue; // replaced or invalidated meanwhile
      if ((current.get(id) ?? null) === entry.version) entry.expiresAt = Math.max(entry.expiresAt, startedAt + this.ttlMs);
      else this.entries.delete(id);
    }
  }

  /** Revalidates every ttlMs / 2 while lookups come, so hot entries never expire; unref'd. */
  private schedule(): void {
    if (!this.autoRevalidate || this.timer !== null) return;
    this.timer = setTimeout(() => {
      void this.revalidate().finally(() => {
        this.timer = null;
        if (this.entries.size > 0 && this.now() - this.lastLookup < IDLE_TTLS * this.ttlMs) this.schedule();
      });
    }, this.ttlMs / 2);
    this.timer.unref();
  }
}
