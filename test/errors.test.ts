import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TallyError, errorCatalogue } from '../src/errors.js';

test('every error code is well-formed, with a status, message and how to solve it', () => {
  for (const [code, spec] of Object.entries(errorCatalogue)) {
    assert.match(code, /^TALLY_ERR_[A-Z_]+$/);
    assert.ok(spec.status >= 400 && spec.status < 600, `${code} status`);
    assert.ok(spec.message.length > 0 && spec.howToSolve.length > 0, `${code} text`);
  }
});

test('every error code is documented in the README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const code of Object.keys(errorCatalogue)) assert.ok(readme.includes(`\`${code}\``), `README lacks ${code}`);
});

test('a TallyError carries its catalogue status and a JSON body', () => {
  const error = new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', 'survey 7');
  assert.equal(error.status, 404);
  assert.deepEqual(error.toJSON(), { code: 'TALLY_ERR_SURVEY_NOT_FOUND', message: 'Survey not found: survey 7' });
});
