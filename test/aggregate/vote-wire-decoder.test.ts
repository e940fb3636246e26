// The fast vote decoder (src/aggregate/vote-wire-decoder.ts) against avsc (VoteDecoder): on random
// and edge votes it returns exactly avsc's vote, and on truncated, corrupted or random bytes it
// ends exactly as avsc does (the same vote, or TALLY_ERR_DECODE with the same message) and never
// hangs. Payloads are also written by hand, with blocks avsc's encoder never writes (several
// blocks, negative counts with a byte size, non-minimal varints), which Avro readers must accept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { VoteDecoder, voteSchemaJson, type VoteCast } from '../../src/vote-codec.js';
import { VoteWireDecoder } from '../../src/aggregate/vote-wire-decoder.js';
import { RecordReader } from '../../src/aggregate/record-reader.js';
import { structuralProblem } from '../../src/aggregate/vote-rules.js';
import { WriterSchemas } from '../../src/aggregate/writer-schemas.js';
import { packBatch, PackedRecords } from '../../src/aggregate/packed-batch.js';
import type { DlqRecord } from '../../src/aggregate/worker-messages.js';
import { Prng } from '../../bench/lib/prng.js';

const SCHEMA_ID = 7;
const EVOLVED_ID = 8;
const voteType = avro.Type.forSchema(JSON.parse(voteSchemaJson) as avro.Schema);

function decoders(): { avsc: VoteDecoder; wire: VoteWireDecoder } {
  const avsc = new VoteDecoder();
  avsc.addWriterSchema(SCHEMA_ID, voteSchemaJson);
  const evolved = JSON.parse(voteSchemaJson) as { fields: object[] };
  evolved.fields.push({ name: 'channel', type: 'string', default: 'web' });
  avsc.addWriterSchema(EVOLVED_ID, JSON.stringify(evolved));
  return { avsc, wire: new VoteWireDecoder(avsc) };
}

function withHeader(payload: Buffer, schemaId = SCHEMA_ID): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

/** Every own key of answers in order, with its options: what counting reads. */
function shape(vote: VoteCast): unknown {
  const { answers } = vote;
  return {
    voteId: vote.voteId,
    surveyId: vote.surveyId,
    voterId: vote.voterId,
    region: vote.region,
    castAt: vote.castAt,
    answers: Reflect.ownKeys(answers).map((key) => [key, [...answers[key as string]!]]),
    prototype: Object.getPrototypeOf(answers) === Object.prototype,
    inOrder: Object.keys(answers),
  };
}

type Outcome = { vote: unknown } | { error: string };

function outcome(decode: () => VoteCast): Outcome {
  try {
    return { vote: shape(decode()) };
  } catch (error) {
    return { error: `${(error as { code?: string }).code}: ${(error as Error).message}` };
  }
}

const IMPOSSIBLE_COUNT = /truncated buffer \(a block of/;

/**
 * The record decoded by the fast decoder (inside a larger buffer, as in a packed batch) and by
 * avsc. When the fast decoder refused a count the record cannot hold, avsc is not run (it may loop
 * for hours or abort the process on such a count) and `avsc` is null.
 */
const shared = decoders();

function both(record: Buffer): { fast: Outcome; avsc: Outcome | null; wire: VoteWireDecoder } {
  const { avsc, wire } = shared;
  wire.fallbacks = 0;
  const padded = Buffer.concat([Buffer.from([1, 2, 3]), record, Buffer.from([0x80, 0x80, 4])]);
  const fast = outcome(() => wire.decode(padded, 3, 3 + record.length));
  if ('error' in fast && IMPOSSIBLE_COUNT.test(fast.error)) return { fast, avsc: null, wire };
  return { fast, avsc: outcome(() => avsc.decode(record)), wire };
}

/** Same outcome as avsc, or (avsc not run) a refused impossible count. */
function sameAsAvsc(result: { fast: Outcome; avsc: Outcome | null }, message: string): 'compared' | 'refused' {
  if (result.avsc === null) {
    assert.match((result.fast as { error: string }).error, /^TALLY_ERR_DECODE: Record cannot be decoded: Avro payload unreadable with schema id \d+: truncated buffer/, message);
    return 'refused';
  }
  assert.deepEqual(result.fast, result.avsc, message);
  return 'compared';
}

// ---- random votes

const ALPHABET = ['a', 'Z', '0', '#', ' ', 'é', 'ß', '日本', '🗳️', '\u0000', '\uFFFD', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '1', '42'];

function text(prng: Prng, maxParts: number): string {
  let out = '';
  const parts = prng.int(maxParts + 1);
  for (let i = 0; i < parts; i++) out += ALPHABET[prng.int(ALPHABET.length)]!;
  return out;
}

const CAST_AT_EDGES = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1_764_000_000_000, 2 ** 48 - 1, -(2 ** 48), 2 ** 53 - 2, -(2 ** 53 - 2)];

function randomVote(prng: Prng): VoteCast {
  const answers: Record<string, string[]> = {};
  const questions = prng.int(5);
  for (let q = 0; q < questions; q++) {
    const options: string[] = [];
    const n = prng.int(5);
    for (let o = 0; o < n; o++) options.push(prng.next() < 0.7 ? `o${prng.int(6)}` : text(prng, 3));
    const key = prng.next() < 0.6 ? `q${prng.int(4)}` : text(prng, 2);
    Object.defineProperty(answers, key, { value: options, enumerable: true, writable: true, configurable: true });
  }
  return {
    voteId: prng.next() < 0.05 ? '' : `vote-${prng.int(1e9)}${text(prng, 2)}`,
    surveyId: prng.next() < 0.05 ? '' : `${prng.int(1e6)}${text(prng, 1)}`,
    voterId: prng.next() < 0.5 ? prng.int(2 ** 32).toString(16).repeat(8) : text(prng, 6),
    answers,
    region: prng.next() < 0.3 ? null : text(prng, 2),
    castAt: prng.next() < 0.5 ? CAST_AT_EDGES[prng.int(CAST_AT_EDGES.length)]! : Math.floor((prng.next() - 0.5) * 2 ** 53),
  };
}

test('the fast path is on for the current vote schema (update vote-wire-decoder.ts with schemas/vote-cast.avsc)', () => {
  const { wire } = decoders();
  assert.equal(wire.isFast(SCHEMA_ID), true);
  assert.equal(wire.isFast(EVOLVED_ID), false, 'another writer schema goes through avsc');
  assert.equal(wire.isFast(999), false);
});

test('random and edge votes: the fast decoder returns exactly what avsc returns, without falling back', () => {
  const prng = new Prng(12);
  let fallbacks = 0;
  for (let i = 0; i < 2000; i++) {
    const vote = randomVote(prng);
    const { fast, avsc, wire } = both(withHeader(voteType.toBuffer(vote)));
    assert.deepEqual(fast, avsc, `vote ${i}: ${JSON.stringify(vote)}`);
    fallbacks += wire.fallbacks;
  }
  assert.equal(fallbacks, 0);
});

test('a record of another writer schema is decoded by avsc through its resolver', () => {
  const evolved = JSON.parse(voteSchemaJson) as { fields: object[] };
  evolved.fields.push({ name: 'channel', type: 'string', default: 'web' });
  const type = avro.Type.forSchema(evolved as avro.Schema);
  const vote = { voteId: 'v', surveyId: 's', voterId: 'x', answers: { q: ['a'] }, region: 'EU', castAt: 5, channel: 'app' };
  const { fast, avsc, wire } = both(withHeader(type.toBuffer(vote), EVOLVED_ID));
  assert.deepEqual(fast, avsc);
  assert.equal(wire.fallbacks, 0, 'not a fallback: the fast path never tried');
});

// ---- payloads written by hand

function zigzag(n: number): number[] {
  let f = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  do {
    let byte = f % 128;
    f = Math.floor(f / 128);
    if (f > 0) byte |= 0x80;
    out.push(byte);
  } while (f > 0);
  return out;
}

const str = (s: string): number[] => {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...zigzag(bytes.length), ...bytes];
};

/** Items in blocks of `sizes`; a negative size writes the block as (-count, byte size). */
function blocks(items: number[][], sizes: number[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const size of sizes) {
    const n = Math.abs(size);
    const body = items.slice(at, at + n).flat();
    at += n;
    out.push(...(size < 0 ? [...zigzag(-n), ...zigzag(body.length)] : zigzag(n)), ...body);
  }
  return [...out, 0];
}

test('several blocks, negative counts with byte sizes and non-minimal varints decode as avsc decodes them', () => {
  const options = blocks([str('a'), str('b'), str('c')], [1, -2]);
  const answers = blocks(
    [
      [...str('q1'), ...options],
      [...str('__proto__'), ...blocks([str('x')], [-1])],
      [...str('q1'), ...blocks([str('again')], [1])],
    ],
    [-2, 1],
  );
  const cases: Array<[string, number[]]> = [
    ['blocks', [...str('v'), ...str('s'), ...str('voter'), ...answers, 2, ...str('EU'), ...zigzag(123456789)]],
    ['non-minimal varint lengths', [0x82, 0x00, 0x76, ...str('s'), ...str('voter'), ...blocks([[...str('q'), ...blocks([str('a')], [1])]], [1]), 0x80, 0x00, 0x80, 0x80, 0x00]],
    ['empty map and empty option list', [...str('v'), ...str('s'), ...str('x'), 0, 0, 2]],
    ['question without options', [...str('v'), ...str('s'), ...str('x'), ...blocks([[...str('q'), 0]], [1]), 0, 2]],
  ];
  for (const [name, bytes] of cases) {
    const { fast, avsc, wire } = both(withHeader(Buffer.from(bytes)));
    assert.ok(avsc !== null && 'vote' in avsc, `${name}: avsc reads it (${JSON.stringify(avsc)})`);
    assert.deepEqual(fast, avsc, name);
    assert.equal(wire.fallbacks, 0, `${name}: the fast path handles it`);
  }
});

test('union index, overlong varints, huge counts, negative lengths, trailing bytes: avsc decides, same outcome', () => {
  const head = [...str('v'), ...str('s'), ...str('x')];
  const cases: Array<[string, number[]]> = [
    ['union index 2', [...head, 0, 4, ...str('EU'), 2]],
    ['union index -1', [...head, 0, 1, 2]],
    ['castAt of 9 varint bytes, unsafe', [...head, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ['castAt 2^53', [...head, 0, 0, ...zigzag(2 ** 53)]],
    ['castAt of 8 varint bytes, safe', [...head, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ['castAt of 11 non-minimal varint bytes', [...head, 0, 0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ['string length of 9 non-minimal varint bytes', [0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x76, ...str('s'), ...str('x'), 0, 0, 2]],
    ['map count 5000, few bytes', [...head, ...zigzag(5000), ...str('q'), 0]],
    ['option count 60000, few bytes', [...head, 2, ...str('q'), ...zigzag(60000), ...str('a')]],
    ['negative string length', [...str('v'), 0x03, ...str('x'), 0, 0, 2]],
    ['string longer than the record', [...str('v'), 0x7e, 0x61]],
    ['trailing byte', [...head, 0, 0, 2, 9]],
    ['empty payload', []],
  ];
  for (const [name, bytes] of cases) {
    sameAsAvsc(both(withHeader(Buffer.from(bytes))), name);
  }
});

test('every truncation and many corruptions of valid records, and random bytes, end exactly as avsc ends', () => {
  const prng = new Prng(99);
  const seen = { compared: 0, refused: 0 };
  for (let i = 0; i < 100; i++) {
    const record = withHeader(voteType.toBuffer(randomVote(prng)));
    for (let length = 0; length < record.length; length++) {
      seen[sameAsAvsc(both(record.subarray(0, length)), `vote ${i} cut at ${length}`)]++;
    }
    for (let k = 0; k < 20; k++) {
      const corrupted = Buffer.from(record);
      const at = 5 + prng.int(record.length - 5);
      corrupted[at] = prng.int(0x100);
      seen[sameAsAvsc(both(corrupted), `vote ${i} corrupted at ${at}`)]++;
    }
  }
  for (let i = 0; i < 2000; i++) {
    const bytes: number[] = [];
    const length = prng.int(80);
    for (let b = 0; b < length; b++) bytes.push(prng.int(0x100));
    seen[sameAsAvsc(both(withHeader(Buffer.from(bytes))), `random bytes ${Buffer.from(bytes).toString('hex')}`)]++;
  }
  assert.ok(seen.compared > 5000, JSON.stringify(seen));
});

test('a count the record cannot hold is refused at once (avsc would loop that often, or abort)', () => {
  const head = [...str('v'), ...str('s'), ...str('x')];
  for (const [name, bytes] of [
    ['map count 2^31', [...head, 0xfe, 0xff, 0xff, 0xff, 0x0f, ...str('q')]],
    ['map count above 2^32', [...head, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0]],
    ['option count 2^40', [...head, 2, ...str('q'), ...zigzag(2 ** 40), 0, 0, 2]],
    ['negative block count -100000', [...head, ...zigzag(-100_000), 4, ...str('q'), 0]],
  ] as const) {
    const { wire } = decoders();
    assert.throws(
      () => wire.decode(withHeader(Buffer.from(bytes)), 0, 5 + bytes.length),
      (error: Error & { code?: string }) => error.code === 'TALLY_ERR_DECODE' && /schema id 7: truncated buffer/.test(error.message),
      name,
    );
  }
  // Where avsc ends (a count it can loop through), its verdict is the same.
  const { avsc } = decoders();
  const bytes = Buffer.from([...head, ...zigzag(70_000), ...str('q'), 0]);
  assert.throws(() => avsc.decode(withHeader(bytes)), /truncated buffer/);
  assert.throws(() => decoders().wire.decode(withHeader(bytes), 0, 5 + bytes.length), /truncated buffer/);
});

// ---- the reader: key compared with the survey id as bytes

test('the reader compares key and survey id as bytes with the same verdicts (and DLQ reasons) as structuralProblem', () => {
  const { avsc } = decoders();
  const schemas = new WriterSchemas('http://127.0.0.1:1', avsc);
  const reader = new RecordReader(avsc, schemas);
  const surveys = ['s1', 's#1', '日本', 'sé', 'x'];
  const keys: Array<Buffer | null> = [null, Buffer.from('s1'), Buffer.from('s1#3'), Buffer.from('s1#'), Buffer.from('s1x'), Buffer.from('s'), Buffer.from(''), Buffer.from('s#1'), Buffer.from('s#1#2'), Buffer.from('日本#0'), Buffer.from('日本'), Buffer.from('s\u00e9'), Buffer.from([0x73, 0xc3]), Buffer.from([0x73, 0xc3, 0x23, 0x31]), Buffer.from('x#'), Buffer.from('#x')];
  const records = [];
  const expected: Array<string | null> = [];
  for (const surveyId of surveys) {
    for (const key of keys) {
      const vote: VoteCast = { voteId: 'v', surveyId, voterId: 'w', answers: { q: ['a'] }, region: null, castAt: 1 };
      records.push({ offset: String(records.length), key, value: withHeader(voteType.toBuffer(vote)) });
      expected.push(structuralProblem(vote, key === null ? null : key.toString('utf8')));
    }
  }
  // survey id bytes that are not valid UTF-8 (so text and bytes disagree)
  const odd = Buffer.from([...zigzag(1), 0x61, 2, 0xc3, ...str('w'), ...blocks([[...str('q'), ...blocks([str('a')], [1])]], [1]), 0, 2]);
  for (const key of [Buffer.from([0xc3]), Buffer.from([0xc4]), Buffer.from([0xc3, 0x23, 0x30])]) {
    const vote = avsc.decode(withHeader(odd));
    records.push({ offset: String(records.length), key, value: withHeader(odd) });
    expected.push(structuralProblem(vote, key.toString('utf8')));
  }
  const packed = new PackedRecords(packBatch(records, 0)!);
  for (let row = 0; row < packed.rows; row++) {
    const dlq: DlqRecord[] = [];
    const vote = reader.read(packed, row, dlq);
    assert.equal(vote === null ? dlq[0]!.reason : null, expected[row], `row ${row}: key ${JSON.stringify(records[row]!.key?.toString('utf8'))}`);
  }
});
