// The conformance table of docs/counting-rules.md: record sequences (one partition's log each)
// with the outcome every record must get. counting-rules.test.ts runs each sequence through the
// aggregator's path (reader, counting core, persistence) and the verifier's own recount, and
// requires the same answers from both: outcomes, tallies, regions, minute buckets, chain heads
// and digests at every offset, and the live partials as the verifier reads them.
// Add a row here whenever a rule gains a case; change a rule only together with this table.
import { vote, wireRecord } from '../verify/support/wire.js';
import type { VoteCast } from '../../src/vote-codec.js';

export const SCHEMA_ID = 1;
/** A schema id no decoder here knows. */
export const UNKNOWN_SCHEMA_ID = 999_999;
export const T0 = 1_700_000_000_000; // 20 s into epoch minute 28,333,333
export const MINUTE = 60_000;

export type Outcome = 'accepted' | 'duplicate' | 'invalid';

export interface TableRecord {
  key: string | null;
  value: Buffer | null;
  outcome: Outcome;
  /** What the row is about, shown when it fails. */
  why: string;
  /** The record's Kafka timestamp (epoch ms); absent: none (-1), castAt is not clamped. */
  timestamp?: number;
}

export interface Sequence {
  name: string;
  records: TableRecord[];
  /** The minute buckets both sides must end with (surveyId → [epoch minute, count], ascending). */
  minutes?: Record<string, Array<[number, number]>>;
}

/** T0's epoch minute. */
const M = Math.floor(T0 / MINUTE);

const enc = (fields: Partial<VoteCast> & Pick<VoteCast, 'surveyId' | 'voterId' | 'answers'>, schemaId = SCHEMA_ID) => wireRecord(schemaId, vote(fields));
const row = (key: string | null, value: Buffer | null, outcome: Outcome, why: string, timestamp?: number): TableRecord => ({ key, value, outcome, why, ...(timestamp === undefined ? {} : { timestamp }) });
/** An answers object whose keys may be `__proto__` (an own property, as the decoder yields it). */
const answersOf = (entries: Array<[string, string[]]>): Record<string, string[]> => {
  const answers: Record<string, string[]> = {};
  for (const [question, options] of entries) Object.defineProperty(answers, question, { value: options, enumerable: true, writable: true, configurable: true });
  return answers;
};

export const SEQUENCES: Sequence[] = [
  {
    name: 'every outcome kind',
    records: [
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'a first vote'),
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['b'] }, castAt: T0 }), 'duplicate', 'the same question again: the first answer stays'),
      row('S', null, 'invalid', 'null value'),
      row('S', Buffer.from('not avro at all'), 'invalid', 'not in the wire format'),
      row('S', Buffer.from([0, 0, 0]), 'invalid', 'shorter than the wire-format header'),
      row('S', Buffer.from([1, 0, 0, 0, 1, 2, 3]), 'invalid', 'magic byte is not 0'),
      row('S', enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a'] } }, UNKNOWN_SCHEMA_ID), 'invalid', 'unknown writer schema id'),
      row('S', enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a'] } }).subarray(0, 12), 'invalid', 'truncated Avro payload'),
      row('S', wireRecord(SCHEMA_ID, { ...vote({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a'] } }), voteId: '' }), 'invalid', 'empty voteId'),
      row('', enc({ surveyId: '', voterId: 'Z', answers: { q1: ['a'] } }), 'invalid', 'empty surveyId'),
      row('S', enc({ surveyId: 'S', voterId: '', answers: { q1: ['a'] } }), 'invalid', 'empty voterId'),
      row(null, enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a'] } }), 'invalid', 'null key'),
      row('T', enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a'] } }), 'invalid', 'key of another survey'),
      row('S', enc({ surveyId: 'S', voterId: 'Z', answers: {} }), 'invalid', 'no answer'),
      row('S', enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a'], q2: [] } }), 'invalid', 'a question without an option'),
      row('S', enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a', 'b', 'a'] } }), 'invalid', 'a repeated option'),
      row('S', enc({ surveyId: 'S', voterId: 'Z', answers: { q1: ['a', 'b'] }, castAt: T0 }), 'accepted', 'after all that, Z still votes: invalid records count for nothing'),
    ],
  },
  {
    name: 'follow-ups: only the new questions count',
    records: [
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'q1'),
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['b'], q2: ['x', 'y'] }, castAt: T0 }), 'accepted', 'q2 is new (q1 ignored)'),
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q2: ['z'] }, castAt: T0 }), 'duplicate', 'q2 again'),
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q2: ['z'], q1: ['c'] }, castAt: T0 }), 'duplicate', 'both answered'),
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q3: ['m'], q1: ['c'] }, castAt: T0 + 5 * MINUTE }), 'accepted', 'q3 is new; the response is not counted again'),
      row('S', enc({ surveyId: 'S', voterId: 'B', answers: { q2: ['x'] }, castAt: T0 }), 'accepted', 'another voter'),
      row('S2', enc({ surveyId: 'S2', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'the same voter in another survey is another ledger'),
      row('S2', enc({ surveyId: 'S2', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'duplicate', 'and a duplicate there'),
    ],
  },
  {
    name: 'regions: the first counted vote decides the response',
    records: [
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['a'] }, region: 'EU', castAt: T0 }), 'accepted', 'EU response'),
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q2: ['b'] }, region: 'US', castAt: T0 }), 'accepted', 'votes in US, no US response'),
      row('S', enc({ surveyId: 'S', voterId: 'B', answers: { q1: ['a'] }, region: null, castAt: T0 }), 'accepted', 'no region: not listed under regions'),
      row('S', enc({ surveyId: 'S', voterId: 'B', answers: { q2: ['a'] }, region: 'EU', castAt: T0 }), 'accepted', 'EU votes, but B responded without a region'),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q1: ['a'] }, region: '', castAt: T0 }), 'accepted', 'an empty region is a region'),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q1: ['b'] }, region: 'EU', castAt: T0 }), 'duplicate', 'a duplicate counts in no region'),
    ],
  },
  {
    name: 'minute buckets: floor(castAt / 60,000) for every accepted record',
    records: [
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'first ms of a minute'),
      row('S', enc({ surveyId: 'S', voterId: 'B', answers: { q1: ['a'] }, castAt: T0 + MINUTE - 1 }), 'accepted', 'last ms of the same minute'),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q1: ['a'] }, castAt: T0 + MINUTE }), 'accepted', 'next minute'),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q1: ['a'] }, castAt: T0 + 2 * MINUTE }), 'duplicate', 'a duplicate adds to no bucket'),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q2: ['a'] }, castAt: T0 - 30 * MINUTE }), 'accepted', 'a follow-up counts in its own (older) minute, inside the window'),
      row('S', enc({ surveyId: 'S', voterId: 'G', answers: { q2: ['a'] }, castAt: T0 - 90 * MINUTE }), 'accepted', 'older than the window: counted, but adds to no bucket'),
      row('S2', enc({ surveyId: 'S2', voterId: 'D', answers: { q1: ['a'] }, castAt: -1 }), 'accepted', 'before the epoch: minute -1'),
      row('S2', enc({ surveyId: 'S2', voterId: 'E', answers: { q1: ['a'] }, castAt: 0 }), 'accepted', 'the epoch: minute 0'),
      row('S', enc({ surveyId: 'S', voterId: 'F', answers: { q1: ['a'] }, castAt: T0 + 400 * MINUTE }), 'accepted', 'far ahead: the window moves, every older bucket of S is dropped'),
      row('S2', enc({ surveyId: 'S2', voterId: 'F', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', "S2's window is its own: minutes -1 and 0 drop out"),
    ],
    minutes: { S: [[M + 400, 1]], S2: [[M, 1]] },
  },
  {
    name: 'minute window: the 60 minutes ending at the survey\'s newest bucket',
    records: [
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'minute M'),
      row('S', enc({ surveyId: 'S', voterId: 'B', answers: { q1: ['a'] }, castAt: T0 + 59 * MINUTE }), 'accepted', 'M + 59: M is still the window\'s first minute'),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q1: ['a'] }, castAt: T0 + 60 * MINUTE }), 'accepted', 'M + 60: M drops out'),
      row('S', enc({ surveyId: 'S', voterId: 'D', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'M again: older than the window, no bucket'),
      row('S', enc({ surveyId: 'S', voterId: 'E', answers: { q1: ['a'] }, castAt: T0 + MINUTE }), 'accepted', 'M + 1: the window\'s first minute, counted'),
    ],
    minutes: { S: [[M + 1, 1], [M + 59, 1], [M + 60, 1]] },
  },
  {
    name: 'castAt after the record\'s Kafka timestamp is clamped to it',
    records: [
      row('S', enc({ surveyId: 'S', voterId: 'A', answers: { q1: ['a'] }, castAt: T0 }), 'accepted', 'an honest vote: castAt before its timestamp', T0 + 2000),
      row('S', enc({ surveyId: 'S', voterId: 'B', answers: { q1: ['a'] }, castAt: T0 + 10_000 * MINUTE }), 'accepted', 'a castAt a week ahead counts in its timestamp\'s minute (M + 1) and does not empty the window', T0 + MINUTE + 5),
      row('S', enc({ surveyId: 'S', voterId: 'C', answers: { q1: ['a'] }, castAt: T0 + 30 * MINUTE }), 'accepted', 'clamped to M + 2', T0 + 2 * MINUTE),
      row('S', enc({ surveyId: 'S', voterId: 'D', answers: { q1: ['a'] }, castAt: T0 + 30 * MINUTE }), 'accepted', 'no timestamp: not clamped (M + 30)'),
      row('S', enc({ surveyId: 'S', voterId: 'E', answers: { q1: ['a'] }, castAt: T0 + 4 * MINUTE }), 'accepted', 'timestamp -1 is none: not clamped (M + 4)', -1),
      row('S', enc({ surveyId: 'S', voterId: 'F', answers: { q1: ['a'] }, castAt: T0 + 3 * MINUTE }), 'accepted', 'a timestamp exactly at castAt: unchanged (M + 3)', T0 + 3 * MINUTE),
      row('S', enc({ surveyId: 'S', voterId: 'F', answers: { q1: ['b'] }, castAt: T0 + 10_000 * MINUTE }), 'duplicate', 'a duplicate adds to no bucket, clamped or not', T0 + 5 * MINUTE),
    ],
    minutes: { S: [[M, 1], [M + 1, 1], [M + 2, 1], [M + 3, 1], [M + 4, 1], [M + 30, 1]] },
  },
  {
    name: 'ids named like Object.prototype members',
    records: [
      row('constructor', enc({ surveyId: 'constructor', voterId: 'valueOf', answers: answersOf([['__proto__', ['toString']], ['constructor', ['hasOwnProperty', '__proto__']]]), region: '__proto__', castAt: T0 }), 'accepted', 'survey, question, option, region and voter ids'),
      row('constructor', enc({ surveyId: 'constructor', voterId: '__proto__', answers: answersOf([['toString', ['valueOf']]]), region: 'constructor', castAt: T0 }), 'accepted', 'a voter called __proto__'),
      row('constructor', enc({ surveyId: 'constructor', voterId: 'valueOf', answers: answersOf([['__proto__', ['constructor']]]), region: 'toString', castAt: T0 }), 'duplicate', '__proto__ was answered'),
      row('constructor', enc({ surveyId: 'constructor', voterId: 'valueOf', answers: answersOf([['hasOwnProperty', ['__proto__', 'constructor']]]), region: 'toString', castAt: T0 }), 'accepted', 'a new question'),
      row('__proto__', enc({ surveyId: '__proto__', voterId: 'constructor', answers: answersOf([['__proto__', ['__proto__']]]), region: '__proto__', castAt: T0 }), 'accepted', 'a survey called __proto__'),
      row('__proto__', enc({ surveyId: '__proto__', voterId: 'constructor', answers: answersOf([['q', ['toString', 'toString']]]) }), 'invalid', 'a repeated option named toString'),
    ],
  },
  {
    name: 'hot-survey keys, odd ids and many surveys (digest order)',
    records: [
      row('H#3', enc({ surveyId: 'H', voterId: 'A', answers: { q: ['a'] }, castAt: T0 }), 'accepted', 'a shard key'),
      row('H#', enc({ surveyId: 'H', voterId: 'B', answers: { q: ['a'] }, castAt: T0 }), 'accepted', 'an empty shard'),
      row('H#1#2', enc({ surveyId: 'H', voterId: 'C', answers: { q: ['a'] }, castAt: T0 }), 'accepted', 'the survey part ends at the first #'),
      row('a#b', enc({ surveyId: 'a#b', voterId: 'A', answers: { q: ['a'] }, castAt: T0 }), 'invalid', 'a survey id with # cannot match its key'),
      row('é', enc({ surveyId: 'é', voterId: 'ü∑', answers: { 'ø': ['å', '😀'] }, region: 'ñ', castAt: T0 }), 'accepted', 'multi-byte ids'),
      row('Z', enc({ surveyId: 'Z', voterId: 'A', answers: { q: ['a'] }, castAt: T0 }), 'accepted', 'sorted last'),
      row('0', enc({ surveyId: '0', voterId: 'A', answers: { q: ['a'] }, castAt: T0 }), 'accepted', 'sorted first'),
      row('10', enc({ surveyId: '10', voterId: 'A', answers: { q: ['a'] }, castAt: T0 }), 'accepted', 'a numeric-looking id'),
      row('9', enc({ surveyId: '9', voterId: 'A', answers: { '1': ['2'], '0': ['1'] }, castAt: T0 }), 'accepted', 'numeric-looking questions and options'),
      row('9', enc({ surveyId: '9', voterId: 'A', answers: { '0': ['3'] }, castAt: T0 }), 'duplicate', 'answered already'),
    ],
  },
  {
    name: 'one voter many times in a row (within and across batches)',
    records: Array.from({ length: 12 }, (_, i) =>
      row(
        'S',
        enc({ surveyId: 'S', voterId: i % 3 === 0 ? 'A' : 'B', answers: { [`q${Math.floor(i / 2)}`]: ['a'] }, region: i % 2 === 0 ? 'EU' : null, castAt: T0 + i * MINUTE }),
        // A answers q0, q1, q3, q4 (records 0, 3, 6, 9); B answers q0 … q5, twice q2 and q5.
        i === 5 || i === 11 ? 'duplicate' : 'accepted',
        `record ${i}`,
      ),
    ),
  },
];
