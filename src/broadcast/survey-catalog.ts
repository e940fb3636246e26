// Survey metadata from PostgreSQL, cached per process. Hundreds of thousands of dashboards open the
// same few surveys, so concurrent look-ups of one survey share one query, and a cached entry is
// served while it is refreshed in the background (titles and options rarely change once votes flow).
import type { Pool } from '../db/postgres.js';
import type { Logger } from '../logger.js';
import type { SurveyMetadata } from './survey-metadata.js';

/** How long metadata is served before a background refresh. */
const FRESH_MS = 10_000;
/** How long "no such survey" is remembered, so a bad link cannot hammer the database. */
const MISSING_MS = 2_000;

interface Entry {
  metadata: SurveyMetadata | undefined;
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
  WHERE s.id = $1
  ORDER BY q.ord, q.id, o.ord, o.id`;

export class SurveyCatalog {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();

  /** `onChange` runs when a refresh finds different metadata for a survey already served. */
  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly onChange: (surveyId: string) => void,
  ) {}

  /** The survey's metadata, or undefined if there is no such survey. */
  async get(surveyId: string): Promise<SurveyMetadata | undefined> {
    const entry = this.entries.get(surveyId);
    if (entry) {
      const age = Date.now() - entry.loadedAt;
      if (entry.metadata && age > FRESH_MS) this.refreshInBackground(surveyId);
      if (entry.metadata || age <= MISSING_MS) return entry.metadata;
    }
    return (await this.load(surveyId)).metadata;
  }

  /** The cached metadata without waiting (refreshed in the background when old). */
  peek(surveyId: string): SurveyMetadata | undefined {
    const entry = this.entries.get(surveyId);
    if (entry?.metadata && Date.now() - entry.loadedAt > FRESH_MS) this.refreshInBackground(surveyId);
    return entry?.metadata;
  }

  forget(surveyId: string): void {
    this.entries.delete(surveyId);
  }

  private refreshInBackground(surveyId: string): void {
    if (this.inFlight.has(surveyId)) return;
    this.load(surveyId).catch((error: Error) => this.logger.warn({ surveyId, err: error.message }, 'survey metadata refresh failed'));
  }

  private load(surveyId: string): Promise<Entry> {
    const pending = this.inFlight.get(surveyId);
    if (pending) return pending;
    const load = this.query(surveyId)
      .then((metadata) => {
        const json = JSON.stringify(metadata ?? null);
        const previous = this.entries.get(surveyId);
        const entry = { metadata, loadedAt: Date.now(), json };
        this.entries.set(surveyId, entry);
        if (previous && previous.json !== json) this.onChange(surveyId);
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
