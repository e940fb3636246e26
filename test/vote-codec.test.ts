// The vote decoder reads map keys as own properties: a question id `__proto__` is a question,
// with the reader schema and through a resolver for another writer schema alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { VoteDecoder, voteSchemaJson } from '../src/vote-codec.js';

function wire(schemaId: number, type: avro.Type, value: object): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, type.toBuffer(value)]);
}

test('answers named __proto__ and constructor are own entries, whatever the writer schema', () => {
  const decoder = new VoteDecoder();
  decoder.addWriterSchema(1, voteSchemaJson);
  const evolved = JSON.parse(voteSchemaJson) as { fields: object[] };
  evolved.fields.push({ name: 'channel', type: 'string', default: 'web' });
  decoder.addWriterSchema(2, JSON.stringify(evolved));
  const answers = JSON.parse('{"__proto__": ["a"], "constructor": ["b"], "q": ["c"]}') as Record<string, string[]>;
  const vote = { voteId: 'v', surveyId: 's', voterId: 'x', answers, region: null, castAt: 1 };
  for (const [id, type, value] of [
    [1, avro.Type.forSchema(JSON.parse(voteSchemaJson)), vote],
    [2, avro.Type.forSchema(evolved as avro.Schema), { ...vote, channel: 'app' }],
  ] as const) {
    const decoded = decoder.decode(wire(id, type, value));
    const questions: string[] = [];
    for (const question in decoded.answers) questions.push(question);
    assert.deepEqual(questions, ['__proto__', 'constructor', 'q'], `schema ${id}`);
    assert.equal(Object.getPrototypeOf(decoded.answers), Object.prototype, `schema ${id}: the prototype is untouched`);
    assert.deepEqual(decoded.answers['__proto__'], ['a']);
  }
});
