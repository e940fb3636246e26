// What a snapshot needs to know about a survey besides its counts: titles, options, their order.
// Read from PostgreSQL (tables surveys/questions/options, src/db/migrations.ts) as the app role.

export interface OptionMetadata {
  id: string;
  text: string;
  image: string | null;
  order: number;
}

export interface QuestionMetadata {
  id: string;
  title: string;
  order: number;
  options: OptionMetadata[];
}

export interface SurveyMetadata {
  id: string;
  title: string;
  status: string;
  questions: QuestionMetadata[];
}

/**
 * Survey ids are PostgreSQL bigserials; anything else cannot name a survey (400). Digits pass the
 * route schema, but only the canonical spelling (no leading zero, as ingest writes it) names a
 * survey: `0001` is not survey 1 (404 on the API, a redirect to `/dashboard/1` on the dashboard).
 */
export const SURVEY_ID_PATTERN = '^[0-9]{1,18}$';

/** The canonical spelling of a survey id (`0001` → `1`), or undefined if it cannot name one (`0`, `x`). */
export function canonicalSurveyId(raw: string): string | undefined {
  if (!/^[0-9]{1,18}$/.test(raw)) return undefined;
  const canonical = raw.replace(/^0+/, '');
  return canonical === '' ? undefined : canonical;
}
