// Test fixtures for the broadcaster: surveys inserted into PostgreSQL as the app role, and partials
// written to Redis exactly as the aggregator writes them (PUBLISH_IF_NEWER_LUA, the real contract).
import type { Redis } from 'ioredis';
import type { Pool } from '../../../src/db/postgres.js';
import { PUBLISH_IF_NEWER_LUA, UPDATES_CHANNEL, surveyHashKey, type SurveyPartial } from '../../../src/partition-tally.js';

export interface CreatedSurvey {
  id: string;
  questions: Array<{ id: string; title: string; options: Array<{ id: string; text: string }> }>;
}

export async function createSurvey(
  pool: Pool,
  title: string,
  questions: Array<{ title: string; options: Array<string | { text: string; image?: string }> }>,
): Promise<CreatedSurvey> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const survey = await client.query<{ id: string }>("INSERT INTO surveys(title, status, start_date) VALUES ($1, 'published', now()) RETURNING id", [title]);
    const created: CreatedSurvey = { id: survey.rows[0]!.id, questions: [] };
    for (const [qi, question] of questions.entries()) {
      const q = await client.query<{ id: string }>('INSERT INTO questions(survey_id, title, ord) VALUES ($1, $2, $3) RETURNING id', [created.id, question.title, qi]);
      const options: Array<{ id: string; text: string }> = [];
      for (const [oi, option] of question.options.entries()) {
        const { text, image } = typeof option === 'string' ? { text: option, image: undefined } : option;
        const o = await client.query<{ id: string }>('INSERT INTO options(question_id, text, image, ord) VALUES ($1, $2, $3, $4) RETURNING id', [q.rows[0]!.id, text, image ?? null, oi]);
        options.push({ id: o.rows[0]!.id, text });
      }
      created.questions.push({ id: q.rows[0]!.id, title: question.title, options });
    }
    await client.query('COMMIT');
    return created;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

export async function deleteSurvey(pool: Pool, redis: Redis, surveyId: string): Promise<void> {
  await pool.query('DELETE FROM surveys WHERE id = $1', [surveyId]);
  await redis.del(surveyHashKey(surveyId));
}

export function partial(surveyId: string, partition: number, nextOffset: number, fields: Partial<SurveyPartial> = {}): SurveyPartial {
  return { surveyId, partition, nextOffset: String(nextOffset), responses: 0, votes: {}, regions: {}, minutes: {}, lastCastAt: Date.now(), writtenAt: Date.now(), ...fields };
}

/** What the aggregator does after a durable write; resolves 1 if stored and published, 0 if older. */
export async function publishPartial(redis: Redis, value: SurveyPartial): Promise<number> {
  return (await redis.eval(PUBLISH_IF_NEWER_LUA, 1, surveyHashKey(value.surveyId), String(value.partition), value.nextOffset, JSON.stringify(value), UPDATES_CHANNEL)) as number;
}
