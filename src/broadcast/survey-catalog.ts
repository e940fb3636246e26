// Survey metadata from PostgreSQL, cached per process. Hundreds of thousands of dashboards open the
// same few surveys, so concurrent look-ups of one survey share one query, and a cached entry is
// served while it is refreshed in the background (titles and options rarely change once votes flow).
//
// The public can ask for any id, so every cache here is bounded and a random id costs no query:
// - hits: a GenerationalMap of at most MAX_SURVEYS entries (recently used ones survive);
// - misses ("no such survey", or a draft): a second GenerationalMap of at most MAX_MISSING entries,
//   remembered MISSING_MS;
// - ids above the highest survey id (a bigserial) are answered "missing" without a query: the
//   highest id is read at most once per MISSING_MS, and only when an id above it is asked for.
// Drafts are hidden exactly as ingest's public GET hides them (survey-routes.ts): they are missing.
import { GenerationalMap } from '../generational-map.js';
import type { Pool } from '../db/postgres.js';
import type { Logger } from '../logger.js';
import { canonicalSurveyId, type SurveyMetadata } from './survey-metadata.js';

/** How long metadata is served before a background refresh. */
const FRESH_MS = 10_000;
/** How long "no such survey" is remembered, so a bad link cannot hammer the database. */
const MISSING_MS = 2_000;
/** Cached surveys per process (each a few KB at most: titles, questions, options). */
export const MAX_SURVEYS = 10_000;
/** Remembered misses per process. */
export const MAX_MISSING = 10_000;

interface Entry {
  metadata: SurveyMetadata;
  loadedAt: number;
  json: string;
}

interface Row {
  id: string;
  title: string;
  status: string;
  question_id: string | null;
  question_title: string | null;
  question_order: number | null;
  option_id: string | null;
  option_text: string | null;
  option_image: string | null;
  option_order: number | null;
}

const SURVEY_QUERY = `
  SELECT s.id, s.title, s.status,
         q.id AS question_id, q.title AS question_title, q.ord AS question_order,
         o.id AS option_id, o.text AS option_text, o.image AS option_image, o.ord AS option_order
  FROM surveys s
  LEFT JOIN questions q ON q.survey_id = s.id
  LEFT JOIN options o ON o.question_id = q.id
  WHERE s.id = $1 AND s.status <> 'draft'
  ORDER BY q.ord, q.id, o.ord, o.id`;

const MAX_ID_QUERY = 'SELECT COALESCE(max(id), 0)::text AS max FROM surveys';

export class SurveyCatalog {
  private readonly entries = new GenerationalMap<string, Entry>(MAX_SURVEYS);
  /** id → when it was found missing */
  private readonly missing = new GenerationalMap<string, number>(MAX_MISSING);
  private readonly inFlight = new Map<string, Promise<Entry | undefined>>();
  private maxId = { value: -1n, readAt: -Infinity };
  private maxIdInFlight: Promise<bigint> | undefined;

  /** `onChange` runs when a load finds new or different metadata for a survey (the board republishes it). */
  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    private readonly logger: Logger,
    private readonly onChange: (surveyId: string) => void,
  ) {}

  /** The survey's metadata, or undefined if there is no such survey, it is a draft, or the id is not canonical. */
  async get(surveyId: string): Promise<SurveyMetadata | undefined> {
    if (canonicalSurveyId(surveyId) !== surveyId) return undefined;
    const entry = this.entries.get(surveyId);
    if (entry) {
      if (Date.now() - entry.loadedAt > FRESH_MS) this.refreshInBackground(surveyId);
      return entry.metadata;
    }
    if (this.recentlyMissing(surveyId)) return undefined;
    if (BigInt(surveyId) > (await this.highestId())) return this.rememberMissing(surveyId);
    return (await this.load(surveyId))?.metadata;
  }

  /** The cached metadata without waiting; a survey not cached (or old) is loaded in the background. */
  peek(surveyId: string): SurveyMetadata | undefined {
    const entry = this.entries.get(surveyId);
    if (entry ? Date.now() - entry.loadedAt > FRESH_MS : !this.recentlyMissing(surveyId)) this.refreshInBackground(surveyId);
    return entry?.metadata;
  }

  forget(surveyId: string): void {
    this.entries.delete(surveyId);
  }

  /** Cached surveys and remembered misses (for tests and metrics). */
  get size(): { surveys: number; missing: number } {
    return { surveys: this.entries.size, missing: this.missing.size };
  }

  private recentlyMissing(surveyId: string): boolean {
    const missingAt = this.missing.get(surveyId);
    return missingAt !== undefined && Date.now() - missingAt <= MISSING_MS;
  }

  private rememberMissing(surveyId: string): undefined {
    this.entries.delete(surveyId);
    this.missing.set(surveyId, Date.now());
    return undefined;
  }

  /** The highest survey id, read again only when an id above it is asked for and the last read is old. */
  private async highestId(): Promise<bigint> {
    if (Date.now() - this.maxId.readAt <= MISSING_MS) return this.maxId.value;
    this.maxIdInFlight ??= this.pool
      .query<{ max: string }>(MAX_ID_QUERY)
      .then(({ rows }) => {
        this.maxId = { value: BigInt(rows[0]?.max ?? '0'), readAt: Date.now() };
        return this.maxId.value;
      })
      .finally(() => (this.maxIdInFlight = undefined));
    return this.maxIdInFlight;
  }

  private refreshInBackground(surveyId: string): void {
    if (this.inFlight.has(surveyId)) return;
    this.load(surveyId).catch((error: Error) => this.logger.warn({ surveyId, err: error.message }, 'survey metadata refresh failed'));
  }

  private load(surveyId: string): Promise<Entry | undefined> {
    const pending = this.inFlight.get(surveyId);
    if (pending) return pending;
    const load = this.query(surveyId)
      .then((metadata) => {
        const previous = this.entries.get(surveyId);
        if (!metadata) {
          this.rememberMissing(surveyId);
          if (previous) this.onChange(surveyId);
          return undefined;
        }
        const entry = { metadata, loadedAt: Date.now(), json: JSON.stringify(metadata) };
        this.entries.set(surveyId, entry);
        this.missing.delete(surveyId);
        if (previous?.json !== entry.json) this.onChange(surveyId);
        return entry;
      })
      .finally(() => this.inFlight.delete(surveyId));
    this.inFlight.set(surveyId, load);
    return load;
  }

  private async query(surveyId: string): Promise<SurveyMetadata | undefined> {
    const { rows } = await this.pool.query<Row>(SURVEY_QUERY, [surveyId]);
    const first = rows[0];
    if (!first) return undefined;
    const metadata: SurveyMetadata = { id: String(first.id), title: first.title, status: first.status, questions: [] };
    for (const row of rows) {
      if (row.question_id === null) continue;
      let question = metadata.questions[metadata.questions.length - 1];
      if (question?.id !== String(row.question_id)) {
        question = { id: String(row.question_id), title: row.question_title ?? '', order: row.question_order ?? 0, options: [] };
        metadata.questions.push(question);
      }
      if (row.option_id !== null) {
        question.options.push({ id: String(row.option_id), text: row.option_text ?? '', image: row.option_image, order: row.option_order ?? 0 });
      }
    }
    return metadata;
  }
}
