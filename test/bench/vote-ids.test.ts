// The ingest bench reads vote ids without parsing: from a 202 body, and from a record in the
// Confluent wire format (checked against the real codec's encoding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { voteSchemaJson } from '../../src/vote-codec.js';
import { voteIdOfRecord } from '../../bench/ingest/topic-vote-ids.js';
import { errorLabel, voteIdOf } from '../../bench/ingest/vote-requests.js';

test('voteIdOfRecord reads the first Avro field after the 5-byte header', () => {
  const type = avro.Type.forSchema(JSON.parse(voteSchemaJson));
  const voteId = '0b7a3c1e-5d2f-4e8a-9b1c-2d3e4f5a6b7c';
  const payload = type.toBuffer({ voteId, surveyId: '1', voterId: 'v', answers: { '1': ['2'] }, region: null, castAt: 0 });
  const record = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), payload]);
  assert.equal(voteIdOfRecord(record), voteId);
  assert.equal(voteIdOfRecord(Buffer.from([0, 0, 0, 0, 7])), null);
  assert.equal(voteIdOfRecord(null), null);
});

test('voteIdOf and errorLabel read answers without JSON.parse', () => {
  assert.equal(voteIdOf(Buffer.from('{"voteId":"abc-1","surveyId":"9"}')), 'abc-1');
  assert.equal(voteIdOf(Buffer.from('{}')), null);
  assert.equal(errorLabel(409, Buffer.from('{"code":"TALLY_ERR_DUPLICATE_VOTE","message":"x"}')), '409 TALLY_ERR_DUPLICATE_VOTE');
  assert.equal(errorLabel(502, Buffer.from('bad gateway')), '502');
});
