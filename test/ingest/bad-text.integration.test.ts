// Integration: PostgreSQL, Redis
// Every bad input gets a catalogued 4xx (issue 11): a NUL character in any admin text field
// (PostgreSQL cannot store byte 0x00: it was a 500) and a lone UTF-16 surrogate (it was silently
// stored as U+FFFD), on POST and PUT, are 400 TALLY_ERR_INVALID_TEXT naming the field; a body that
// is not valid UTF-8 is 400 TALLY_ERR_BAD_JSON instead of being decoded with U+FFFD. The voter's
// free text (the `text` of POST /v1/surveys/:id/answers, echoed in the 202) is held to the same rule.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSurvey, sampleSurvey, startHarness, type CreatedSurvey, type Harness } from './support/ingest-harness.js';

let h: Harness;

before(async () => {
  h = await startHarness('ingest-bad-text', { connected: false });
});

after(async () => {
  await h.close();
});

type Survey = ReturnType<typeof sampleSurvey> & { questions: { title: string; options: { text: string; image?: string | null }[] }[] };

/** Where a text goes in a survey body, and the path the error names. */
const FIELDS: [string, (survey: Survey, text: string) => void, string][] = [
  ['survey title', (s, text) => (s.title = text), 'body/title'],
  ['question title', (s, text) => (s.questions[0]!.title = text), 'body/questions/0/title'],
  ['option text', (s, text) => (s.questions[0]!.options[1]!.text = text), 'body/questions/0/options/1/text'],
  ['image URL', (s, text) => (s.questions[1]!.options[0]!.image = `https://example.com/${text}.png`), 'body/questions/1/options/0/image'],
];

const BAD_TEXT: [string, string][] = [
  ['a NUL character', 'Homer\u0000Simpson'],
  ['a lone high surrogate', 'Homer \ud83d Simpson'],
  ['a lone low surrogate', 'Homer \ude00 Simpson'],
];

for (const [what, text] of BAD_TEXT) {
  for (const [field, place, path] of FIELDS) {
    test(`${what} in the ${field}: 400 TALLY_ERR_INVALID_TEXT on POST and PUT`, async () => {
      const created = structuredClone(sampleSurvey()) as Survey;
      place(created, text);
      const post = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: created as unknown as Record<string, unknown> });
      assert.equal(post.statusCode, 400, post.body);
      assert.equal(post.json().code, 'TALLY_ERR_INVALID_TEXT');
      assert.match(post.json().message, new RegExp(path.replace(/\//g, '\\/')));

      const draft = await createSurvey(h, sampleSurvey(), false);
      const update = structuredClone(sampleSurvey()) as Survey;
      place(update, text);
      const put = await h.admin({ method: 'PUT', url: `/v1/internal/surveys/${draft.id}`, payload: update as unknown as Record<string, unknown> });
      assert.equal(put.statusCode, 400, put.body);
      assert.equal(put.json().code, 'TALLY_ERR_INVALID_TEXT');
      const unchanged = await h.admin({ method: 'GET', url: `/v1/internal/surveys/${draft.id}` });
      assert.equal(unchanged.json().title, sampleSurvey().title);
    });
  }
}

test('text outside the BMP (a surrogate pair) is fine and stored as sent', async () => {
  const body = sampleSurvey({ title: 'Favourite 🍩 flavour' });
  const created = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload: body });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.json().title, 'Favourite 🍩 flavour');
});

test('a body that is not valid UTF-8 is 400 TALLY_ERR_BAD_JSON, not decoded with U+FFFD', async () => {
  const json = Buffer.from(JSON.stringify(sampleSurvey({ title: 'XX' })));
  const at = json.indexOf('XX');
  json[at] = 0xed; // ED A0 80: a UTF-16 surrogate encoded as if it were a character (CESU-8), invalid in UTF-8
  json[at + 1] = 0xa0;
  const payload = Buffer.concat([json.subarray(0, at + 2), Buffer.from([0x80]), json.subarray(at + 2)]);
  const response = await h.admin({ method: 'POST', url: '/v1/internal/surveys', payload, headers: { 'content-type': 'application/json' } });
  assert.equal(response.statusCode, 400, response.body);
  assert.equal(response.json().code, 'TALLY_ERR_BAD_JSON');
  assert.match(response.json().message, /UTF-8/);
});

test('a NUL character or a lone surrogate in an answer text: 400 TALLY_ERR_INVALID_TEXT naming body/text', async () => {
  const survey: CreatedSurvey = await createSurvey(h);
  const question = survey.questions[0]!;
  for (const [what, text] of BAD_TEXT) {
    const answer = await h.app.inject({
      method: 'POST',
      url: `/v1/surveys/${survey.id}/answers`,
      headers: { authorization: `Bearer ${h.voterToken('bad-text-voter')}` },
      payload: { question: question.id, option: question.options[0]!.id, text },
    });
    assert.equal(answer.statusCode, 400, `${what}: ${answer.body}`);
    assert.equal(answer.json().code, 'TALLY_ERR_INVALID_TEXT', what);
    assert.match(answer.json().message, /body\/text/, what);
  }
});
