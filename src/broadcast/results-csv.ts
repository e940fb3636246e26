// The CSV export of (filtered) results: one row per option and region. The row with an empty
// `region` is the all-regions total; per-region rows follow (only the filtered region, if any).
import { ownValue } from '../own-keys.js';
import type { FilteredResults } from './results-filter.js';

const HEADER = ['survey_id', 'question_id', 'question', 'option_id', 'option', 'region', 'votes'];

/** RFC 4180 quoting, plus a leading apostrophe for cells a spreadsheet would run as a formula. */
function cell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function resultsCsv(results: FilteredResults): string {
  const lines = [HEADER.join(',')];
  const regionNames = Object.keys(results.regions);
  const onlyRegion = results.filter?.region;
  for (const question of results.questions) {
    for (const option of question.options) {
      const row = (region: string, votes: number) =>
        [results.survey.id, question.id, question.title, option.id, option.text, region, votes].map(cell).join(',');
      if (onlyRegion === undefined) lines.push(row('', option.votes));
      for (const region of regionNames) lines.push(row(region, ownValue(ownValue(ownValue(results.regions, region)!.votes, question.id) ?? {}, option.id) ?? 0));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
