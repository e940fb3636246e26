// Surveys as the API shows them (ids are decimal strings: PostgreSQL bigserial) and as it accepts
// them. Lifecycle: draft → published → finished; only drafts are edited.
//
//   create ──▶ draft ──publish──▶ published ──finish──▶ finished
//                 │ (PUT edits)       │ (votes accepted)
//                 └───────── DELETE (any state) ────────┘
export type SurveyStatus = 'draft' | 'published' | 'finished';

export interface OptionView {
  id: string;
  text: string;
  image: string | null;
  order: number;
}

export interface QuestionView {
  id: string;
  title: string;
  min: number;
  max: number;
  order: number;
  options: OptionView[];
}

export interface SurveyView {
  id: string;
  title: string;
  shards: number;
  status: SurveyStatus;
  startDate: string | null;
  finishDate: string | null;
  /** The regions a vote may name (declared at creation, editable while a draft); empty: votes name none. */
  regions: string[];
  questions: QuestionView[];
}

export interface OptionInput {
  id?: string;
  text: string;
  image?: string | null;
  order?: number;
}

export interface QuestionInput {
  id?: string;
  title: string;
  min?: number;
  max?: number;
  order?: number;
  options: OptionInput[];
}

export interface SurveyInput {
  title: string;
  shards?: number;
  regions?: string[];
  questions: QuestionInput[];
}

/** PUT body: items with `id` are updated, without `id` created, omitted ones removed. Omitting `questions` keeps them all. */
export interface SurveyUpdate {
  title?: string;
  shards?: number;
  regions?: string[];
  questions?: QuestionInput[];
}

/** The lifecycle answer of publish/finish (the seed shape, plus status). */
export function lifecycleView(survey: SurveyView): Pick<SurveyView, 'id' | 'title' | 'status' | 'startDate' | 'finishDate'> {
  return { id: survey.id, title: survey.title, status: survey.status, startDate: survey.startDate, finishDate: survey.finishDate };
}
