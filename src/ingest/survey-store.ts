// Surveys, questions and options in PostgreSQL (tables of migration 1). Every write runs in one
// transaction with the survey row locked, so a concurrent publish cannot interleave with an edit.
import type pg from 'pg';
import type { Pool } from '../db/postgres.js';
import { TallyError } from '../errors.js';
import type { OptionInput, QuestionInput, QuestionView, SurveyInput, SurveyStatus, SurveyUpdate, SurveyView } from './survey-model.js';
import { callService } from './service-errors.js';

interface SurveyRow {
  id: string;
  title: string;
  shards: number;
  status: SurveyStatus;
  start_date: Date | null;
  finish_date: Date | null;
  regions: string[];
}

interface QuestionOptionRow {
  qid: string;
  qtitle: string;
  min: number;
  max: number;
  qord: number;
  oid: string | null;
  text: string | null;
  image: string | null;
  oord: number | null;
}

/** Rules JSON schema cannot express: min ≤ max, and enough options to satisfy min. */
function checkQuestion(question: QuestionInput, index: number): void {
  const min = question.min ?? 1;
  const max = question.max ?? 1;
  if (min > max) throw new TallyError('TALLY_ERR_VALIDATION', `questions[${index}]: min (${min}) is greater than max (${max})`);
  if (question.options.length < Math.max(min, 1)) {
    throw new TallyError('TALLY_ERR_VALIDATION', `questions[${index}]: ${question.options.length} option(s) cannot satisfy min ${Math.max(min, 1)}`);
  }
}

export class SurveyStore {
  constructor(private readonly pool: Pool) {}

  async create(input: SurveyInput): Promise<SurveyView> {
    input.questions.forEach(checkQuestion);
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ id: string }>('INSERT INTO surveys (title, shards, regions) VALUES ($1, $2, $3) RETURNING id', [
        input.title,
        input.shards ?? 1,
        input.regions ?? [],
      ]);
      const id = rows[0]!.id;
      for (const question of input.questions) await insertQuestion(client, id, question);
      return (await load(client, id))!;
    });
  }

  async get(id: string): Promise<SurveyView | null> {
    return callService('postgres', async () => {
      const client = await this.pool.connect();
      try {
        return await load(client, id);
      } finally {
        client.release();
      }
    });
  }

  /** The survey with its version (updated_at, which every write of it changes), or null. */
  async getVersioned(id: string): Promise<{ survey: SurveyView; version: string } | null> {
    return callService('postgres', async () => {
      const client = await this.pool.connect();
      try {
        return await loadVersioned(client, id);
      } finally {
        client.release();
      }
    });
  }

  /** The current version of each of `ids` that exists (one query; ids not returned do not exist). */
  async versions(ids: string[]): Promise<Map<string, string>> {
    const { rows } = await callService('postgres', () =>
      this.pool.query<{ id: string; version: string }>('SELECT id::text AS id, updated_at::text AS version FROM surveys WHERE id = ANY($1::bigint[])', [ids]),
    );
    return new Map(rows.map((row) => [row.id, row.version]));
  }

  async update(id: string, update: SurveyUpdate): Promise<SurveyView> {
    update.questions?.forEach(checkQuestion);
    return this.transaction(async (client) => {
      const survey = await lockSurvey(client, id);
      if (survey.status !== 'draft') throw new TallyError('TALLY_ERR_SURVEY_STATE', `survey ${id} is ${survey.status}; only drafts can be edited`);
      await client.query('UPDATE surveys SET title = COALESCE($2, title), shards = COALESCE($3, shards), regions = COALESCE($4, regions), updated_at = now() WHERE id = $1',
        [id, update.title ?? null, update.shards ?? null, update.regions ?? null],
      );
      if (update.questions !== undefined) await replaceQuestions(client, id, update.questions);
      return (await load(client, id))!;
    });
  }

  async publish(id: string): Promise<SurveyView> {
    return this.transaction(async (client) => {
      const survey = await lockSurvey(client, id);
      if (survey.status !== 'draft') throw new TallyError('TALLY_ERR_SURVEY_STATE', `survey ${id} is ${survey.status}; only drafts can be published`);
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM questions WHERE survey_id = $1', [id]);
      if (Number(rows[0]!.n) === 0) throw new TallyError('TALLY_ERR_SURVEY_STATE', `survey ${id} has no questions`);
      await client.query("UPDATE surveys SET status = 'published', start_date = now(), updated_at = now() WHERE id = $1", [id]);
      return (await load(client, id))!;
    });
  }

  async finish(id: string): Promise<SurveyView> {
    return this.transaction(async (client) => {
      const survey = await lockSurvey(client, id);
      if (survey.status !== 'published') throw new TallyError('TALLY_ERR_SURVEY_STATE', `survey ${id} is ${survey.status}; only published surveys can be finished`);
      await client.query("UPDATE surveys SET status = 'finished', finish_date = now(), updated_at = now() WHERE id = $1", [id]);
      return (await load(client, id))!;
    });
  }

  /** Deletes the survey with its questions, options and answer sessions (ON DELETE CASCADE). */
  async delete(id: string): Promise<void> {
    const { rowCount } = await callService('postgres', () => this.pool.query('DELETE FROM surveys WHERE id = $1', [id]));
    if (rowCount === 0) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${id}`);
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return callService('postgres', async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }
}

async function lockSurvey(client: pg.PoolClient, id: string): Promise<SurveyRow> {
  const { rows } = await client.query<SurveyRow>('SELECT id, title, shards, status, start_date, finish_date FROM surveys WHERE id = $1 FOR UPDATE', [id]);
  if (rows.length === 0) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${id}`);
  return rows[0]!;
}

async function load(client: pg.PoolClient, id: string): Promise<SurveyView | null> {
  return (await loadVersioned(client, id))?.survey ?? null;
}

/**
 * The survey and its version as of the survey row read first: a write between the two queries
 * changes updated_at after that read, so the catalog sees a newer version at its next check and
 * reloads (it never keeps a mix under the newest version).
 */
async function loadVersioned(client: pg.PoolClient, id: string): Promise<{ survey: SurveyView; version: string } | null> {
  const surveys = await client.query<SurveyRow & { version: string }>('SELECT id, title, shards, status, start_date, finish_date, regions, updated_at::text AS version FROM surveys WHERE id = $1', [id]);
  const survey = surveys.rows[0];
  if (survey === undefined) return null;
  const { rows } = await client.query<QuestionOptionRow>(
    `SELECT q.id AS qid, q.title AS qtitle, q.min, q.max, q.ord AS qord, o.id AS oid, o.text, o.image, o.ord AS oord
       FROM questions q LEFT JOIN options o ON o.question_id = q.id
      WHERE q.survey_id = $1
      ORDER BY q.ord, q.id, o.ord, o.id`,
    [id],
  );
  const questions: QuestionView[] = [];
  for (const row of rows) {
    let question = questions[questions.length - 1];
    if (question === undefined || question.id !== row.qid) {
      question = { id: row.qid, title: row.qtitle, min: row.min, max: row.max, order: row.qord, options: [] };
      questions.push(question);
    }
    if (row.oid !== null) question.options.push({ id: row.oid, text: row.text!, image: row.image, order: row.oord! });
  }
  return {
    survey: {
      id: survey.id,
      title: survey.title,
      shards: survey.shards,
      status: survey.status,
      startDate: survey.start_date?.toISOString() ?? null,
      finishDate: survey.finish_date?.toISOString() ?? null,
      regions: survey.regions,
      questions,
    },
    version: survey.version,
  };
}

async function insertQuestion(client: pg.PoolClient, surveyId: string, question: QuestionInput): Promise<void> {
  const { rows } = await client.query<{ id: string }>('INSERT INTO questions (survey_id, title, min, max, ord) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
    surveyId,
    question.title,
    question.min ?? 1,
    question.max ?? 1,
    question.order ?? 0,
  ]);
  for (const option of question.options) await insertOption(client, rows[0]!.id, option);
}

async function insertOption(client: pg.PoolClient, questionId: string, option: OptionInput): Promise<void> {
  await client.query('INSERT INTO options (question_id, text, image, ord) VALUES ($1, $2, $3, $4)', [questionId, option.text, option.image ?? null, option.order ?? 0]);
}

/** PUT semantics: items with `id` updated, without `id` created, omitted ones removed. */
async function replaceQuestions(client: pg.PoolClient, surveyId: string, questions: QuestionInput[]): Promise<void> {
  const existing = await client.query<{ qid: string; oid: string | null }>(
    'SELECT q.id AS qid, o.id AS oid FROM questions q LEFT JOIN options o ON o.question_id = q.id WHERE q.survey_id = $1',
    [surveyId],
  );
  const optionsOf = new Map<string, Set<string>>();
  for (const row of existing.rows) {
    const options = optionsOf.get(row.qid) ?? new Set<string>();
    if (row.oid !== null) options.add(row.oid);
    optionsOf.set(row.qid, options);
  }
  const keptQuestions = questions.filter((q) => q.id !== undefined).map((q) => q.id!);
  for (const id of keptQuestions) {
    if (!optionsOf.has(id)) throw new TallyError('TALLY_ERR_VALIDATION', `question ${id} is not part of survey ${surveyId}`);
  }
  if (new Set(keptQuestions).size !== keptQuestions.length) throw new TallyError('TALLY_ERR_VALIDATION', 'a question id appears twice');
  await client.query('DELETE FROM questions WHERE survey_id = $1 AND NOT (id = ANY($2::bigint[]))', [surveyId, keptQuestions]);

  for (const question of questions) {
    if (question.id === undefined) {
      await insertQuestion(client, surveyId, question);
      continue;
    }
    await client.query('UPDATE questions SET title = $2, min = $3, max = $4, ord = $5 WHERE id = $1', [
      question.id,
      question.title,
      question.min ?? 1,
      question.max ?? 1,
      question.order ?? 0,
    ]);
    const known = optionsOf.get(question.id)!;
    const keptOptions = question.options.filter((o) => o.id !== undefined).map((o) => o.id!);
    for (const id of keptOptions) {
      if (!known.has(id)) throw new TallyError('TALLY_ERR_VALIDATION', `option ${id} is not an option of question ${question.id}`);
    }
    if (new Set(keptOptions).size !== keptOptions.length) throw new TallyError('TALLY_ERR_VALIDATION', `an option id appears twice in question ${question.id}`);
    await client.query('DELETE FROM options WHERE question_id = $1 AND NOT (id = ANY($2::bigint[]))', [question.id, keptOptions]);
    for (const option of question.options) {
      if (option.id === undefined) await insertOption(client, question.id, option);
      else await client.query('UPDATE options SET text = $2, image = $3, ord = $4 WHERE id = $1', [option.id, option.text, option.image ?? null, option.order ?? 0]);
    }
  }
}
