// Vote records in the Confluent wire format, built without the registry for tests that need
// exact bytes (and poison pills the codec would refuse to make).
import avro from 'avsc';
import { voteSchemaJson, type VoteCast } from '../../../src/vote-codec.js';

const voteType = avro.Type.forSchema(JSON.parse(voteSchemaJson));

export function wireRecord(schemaId: number, vote: VoteCast): Buffer {
  const payload = voteType.toBuffer(vote);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

/** A vote with sensible defaults; override what the case is about. */
export function vote(fields: Partial<VoteCast> & Pick<VoteCast, 'surveyId' | 'voterId' | 'answers'>): VoteCast {
  return { voteId: `${fields.voterId}-${JSON.stringify(fields.answers)}`, region: null, castAt: 1_700_000_000_000, ...fields };
}
