// Sessions of the one-answer-per-request API (POST /v1/surveys/:id/answers): the first answer
// opens one, later answers carry its id, finish closes it. Table survey_answers (migration 3); a
// session belongs to one survey and one voter (pseudonym), and is invisible to anyone else.
import type { Pool } from '../db/postgres.js';
import { TallyError } from '../errors.js';
import { callService } from './service-errors.js';

export interface AnswerSessionView {
  id: string;
  survey: string;
  initialized: string;
  finished: string | null;
}

interface SessionRow {
  id: string;
  survey_id: string;
  initialized: Date;
  finished: Date | null;
}

const toView = (row: SessionRow): AnswerSessionView => ({
  id: row.id,
  survey: row.survey_id,
  initialized: row.initialized.toISOString(),
  finished: row.finished?.toISOString() ?? null,
});

export class AnswerSessions {
  constructor(private readonly pool: Pool) {}

  async open(surveyId: string, voter: string): Promise<AnswerSessionView> {
    const { rows } = await callService('postgres', () =>
      this.pool.query<SessionRow>('INSERT INTO survey_answers (survey_id, voter_id) VALUES ($1, $2) RETURNING id, survey_id, initialized, finished', [surveyId, voter]),
    );
    return toView(rows[0]!);
  }

  /** The voter's open session; 404 if it is not theirs or not of this survey, 409 if finished. */
  async openSession(id: string, surveyId: string, voter: string): Promise<AnswerSessionView> {
    const session = await this.find(id, surveyId, voter);
    if (session.finished !== null) throw new TallyError('TALLY_ERR_ANSWER_SESSION_FINISHED', `session ${id} finished at ${session.finished}`);
    return session;
  }

  /** Finishes the session (finishing twice returns the first finish). */
  async finish(id: string, surveyId: string, voter: string): Promise<AnswerSessionView> {
    const { rows } = await callService('postgres', () =>
      this.pool.query<SessionRow>(
        `UPDATE survey_answers SET finished = COALESCE(finished, now())
          WHERE id = $1 AND survey_id = $2 AND voter_id = $3 RETURNING id, survey_id, initialized, finished`,
        [id, surveyId, voter],
      ),
    );
    if (rows.length === 0) throw new TallyError('TALLY_ERR_ANSWER_SESSION', `session ${id} of survey ${surveyId}`);
    return toView(rows[0]!);
  }

  /** Removes a session whose first answer never reached Kafka. */
  async discard(id: string): Promise<void> {
    await callService('postgres', () => this.pool.query('DELETE FROM survey_answers WHERE id = $1', [id]));
  }

  private async find(id: string, surveyId: string, voter: string): Promise<AnswerSessionView> {
    const { rows } = await callService('postgres', () =>
      this.pool.query<SessionRow>('SELECT id, survey_id, initialized, finished FROM survey_answers WHERE id = $1 AND survey_id = $2 AND voter_id = $3', [
        id,
        surveyId,
        voter,
      ]),
    );
    if (rows.length === 0) throw new TallyError('TALLY_ERR_ANSWER_SESSION', `session ${id} of survey ${surveyId}`);
    return toView(rows[0]!);
  }
}
