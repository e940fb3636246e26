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

/** Survey ids are PostgreSQL bigserials; anything else cannot name a survey. */
export const SURVEY_ID_PATTERN = '^[0-9]{1,18}$';
