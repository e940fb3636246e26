// The `aggregate` scenario's load: vote records (Avro, Confluent wire format) for the votes topic,
// with Zipf-skewed surveys, a duplicate ratio and an invalid ratio, counted as they are made
// (ExpectedTally) so the final tallies can be checked exactly.
//
// Record kinds:
// - fresh:     a new voter answers a random non-empty subset of the questions          → accepted
// - follow-up: a recent voter answers again, including a question not answered yet     → accepted (only the new questions count)
// - duplicate: a recent voter answers again, only questions already answered           → duplicate
// - invalid:   one of INVALID_KINDS (garbage bytes, unknown schema id, broken rules…)  → DLQ
import { partitionKeyFor } from '../../src/partition-key.js';
import type { VoteCast } from '../../src/vote-codec.js';
import { ExpectedTally } from './expected-tally.js';
import { Prng, mix32 } from '../lib/prng.js';
import { Zipf } from '../lib/zipf.js';

export interface GeneratorOptions {
  runTag: string;
  surveys: number;
  zipfExponent: number;
  questions: number;
  options: number;
  /** share of records that repeat answers already counted */
  duplicateRatio: number;
  /** share of records the aggregator must send to the DLQ */
  invalidRatio: number;
  /** share of records where a recent voter adds an answer to a question not answered yet */
  followUpRatio: number;
  /** key shards of the most popular survey (1 = not sharded) */
  hotShards: number;
  regions: string[];
  seed: number;
  /** Survey ids, most popular first (default: bench-<runTag>-s<i>). */
  surveyIds?: string[];
}

export interface VoteEncoder {
  readonly schemaId: number;
  encode(vote: VoteCast): Buffer;
}

export interface GeneratedRecord {
  key: string;
  value: Buffer | null;
}

export const INVALID_KINDS = [
  'not-wire-format',
  'unknown-schema-id',
  'null-value',
  'unreadable-avro',
  'empty-answers',
  'repeated-option',
  'key-survey-mismatch',
  'empty-voter-id',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** A schema id no registry of this stack hands out (ids are small sequential numbers). */
const UNKNOWN_SCHEMA_ID = 0x7ffffff0;
/** Recent voters that duplicates and follow-ups pick from. */
const RECENT_VOTERS = 1 << 16;
const MAX_QUESTIONS = 8;

export class VoteGenerator {
  readonly expected = new ExpectedTally();
  readonly invalidByKind: Record<InvalidKind, number> = Object.fromEntries(INVALID_KINDS.map((k) => [k, 0])) as Record<InvalidKind, number>;
  readonly surveyIds: string[];
  readonly questionIds: string[];
  readonly optionIds: string[];
  /** records per survey index, for the report */
  readonly recordsPerSurvey: Uint32Array;
  private readonly prng: Prng;
  private readonly zipf: Zipf;
  private readonly fullMask: number;
  /** per survey: answered-question mask per voter index (grows) */
  private readonly masks: Uint8Array[];
  private readonly votersPerSurvey: Uint32Array;
  private readonly recentSurvey = new Int32Array(RECENT_VOTERS);
  private readonly recentVoter = new Int32Array(RECENT_VOTERS);
  private recentCount = 0;
  private recentNext = 0;
  private sequence = 0;
  private invalidTurn = 0;

  constructor(
    private readonly options: GeneratorOptions,
    private readonly encoder: VoteEncoder,
  ) {
    if (options.questions < 1 || options.questions > MAX_QUESTIONS) throw new RangeError(`questions must be 1..${MAX_QUESTIONS}`);
    if (options.options < 2) throw new RangeError('options must be >= 2');
    const ratios = options.duplicateRatio + options.invalidRatio + options.followUpRatio;
    if (options.duplicateRatio < 0 || options.invalidRatio < 0 || options.followUpRatio < 0 || ratios >= 1) {
      throw new RangeError('duplicate + invalid + follow-up ratios must be >= 0 and sum to < 1');
    }
    this.prng = new Prng(options.seed);
    this.zipf = new Zipf(options.surveys, options.zipfExponent);
    this.fullMask = (1 << options.questions) - 1;
    if (options.surveyIds && options.surveyIds.length !== options.surveys) throw new RangeError('surveyIds must list one id per survey');
    this.surveyIds = options.surveyIds ?? Array.from({ length: options.surveys }, (_, i) => `bench-${options.runTag}-s${i}`);
    this.questionIds = Array.from({ length: options.questions }, (_, q) => `q${q}`);
    this.optionIds = Array.from({ length: options.options }, (_, o) => `o${o}`);
    this.masks = Array.from({ length: options.surveys }, () => new Uint8Array(1024));
    this.votersPerSurvey = new Uint32Array(options.surveys);
    this.recordsPerSurvey = new Uint32Array(options.surveys);
  }

  get produced(): number {
    return this.sequence;
  }

  voterId(survey: number, voter: number): string {
    return `voter-${survey}-${voter}`;
  }

  /** The voter's fixed region (or null): the same in every record of this voter. */
  region(survey: number, voter: number): string | null {
    const { regions } = this.options;
    const pick = mix32(survey, voter) % (regions.length + 1);
    return pick === regions.length ? null : regions[pick]!;
  }

  /** The voter's fixed option ids for question q: one option, or two for odd questions half the time. */
  choices(survey: number, voter: number, q: number): string[] {
    const h = mix32(mix32(survey, voter), q + 1);
    const n = this.optionIds.length;
    // Skewed towards low option ids, like real results.
    const first = Math.min(n - 1, Math.floor(((h & 0xffff) / 0x10000) ** 2 * n));
    if (q % 2 === 1 && (h >>> 16) % 2 === 1) return [this.optionIds[first]!, this.optionIds[(first + 1 + ((h >>> 17) % (n - 1))) % n]!];
    return [this.optionIds[first]!];
  }

  private keyOf(survey: number, voterId: string): string {
    const shards = survey === 0 ? this.options.hotShards : 1;
    return partitionKeyFor(this.surveyIds[survey]!, voterId, shards);
  }

  private answers(survey: number, voter: number, mask: number): Record<string, string[]> {
    const answers: Record<string, string[]> = {};
    for (let q = 0; q < this.questionIds.length; q++) if (mask & (1 << q)) answers[this.questionIds[q]!] = this.choices(survey, voter, q);
    return answers;
  }

  private vote(survey: number, voter: number, mask: number): VoteCast {
    return {
      voteId: `${this.options.runTag}-${this.sequence}`,
      surveyId: this.surveyIds[survey]!,
      voterId: this.voterId(survey, voter),
      answers: this.answers(survey, voter, mask),
      region: this.region(survey, voter),
      castAt: Date.now(),
    };
  }

  private maskOf(survey: number, voter: number): number {
    return this.masks[survey]![voter] ?? 0; // beyond the array: a voter not seen yet
  }

  private setMask(survey: number, voter: number, mask: number): void {
    let masks = this.masks[survey]!;
    if (voter >= masks.length) {
      const grown = new Uint8Array(Math.max(masks.length * 2, voter + 1));
      grown.set(masks);
      this.masks[survey] = masks = grown;
    }
    masks[voter] = mask;
  }

  private remember(survey: number, voter: number): void {
    this.recentSurvey[this.recentNext] = survey;
    this.recentVoter[this.recentNext] = voter;
    this.recentNext = (this.recentNext + 1) % RECENT_VOTERS;
    if (this.recentCount < RECENT_VOTERS) this.recentCount += 1;
  }

  /** A random non-empty subset of `mask` (mask must be non-zero). */
  private subsetOf(mask: number): number {
    for (;;) {
      const subset = mask & (1 + this.prng.int(this.fullMask));
      if (subset !== 0) return subset;
    }
  }

  private valid(survey: number, voter: number, mask: number): GeneratedRecord {
    const before = this.maskOf(survey, voter);
    const { answered } = this.expected.apply(this.surveyIds[survey]!, this.questionIds, before, mask, (q) => this.choices(survey, voter, q), this.region(survey, voter));
    this.setMask(survey, voter, answered);
    const vote = this.vote(survey, voter, mask);
    return { key: this.keyOf(survey, vote.voterId), value: this.encoder.encode(vote) };
  }

  private invalid(survey: number): GeneratedRecord {
    const kind = INVALID_KINDS[this.invalidTurn++ % INVALID_KINDS.length]!;
    this.invalidByKind[kind] += 1;
    this.expected.invalid();
    // A voter index beyond any real one: invalid records must not touch real voters' state.
    const voter = 0x7fffffff - this.sequence;
    const vote = this.vote(survey, voter, 1);
    const key = this.keyOf(survey, vote.voterId);
    switch (kind) {
      case 'not-wire-format':
        return { key, value: Buffer.from(`not avro ${this.sequence}`) };
      case 'unknown-schema-id': {
        const value = this.encoder.encode(vote);
        value.writeUInt32BE(UNKNOWN_SCHEMA_ID, 1);
        return { key, value };
      }
      case 'null-value':
        return { key, value: null };
      case 'unreadable-avro': {
        const value = this.encoder.encode(vote);
        return { key, value: value.subarray(0, 5 + Math.max(1, Math.floor((value.length - 5) / 3))) };
      }
      case 'empty-answers':
        return { key, value: this.encoder.encode({ ...vote, answers: {} }) };
      case 'repeated-option':
        return { key, value: this.encoder.encode({ ...vote, answers: { [this.questionIds[0]!]: [this.optionIds[0]!, this.optionIds[0]!] } }) };
      case 'key-survey-mismatch':
        return { key: `${vote.surveyId}-elsewhere`, value: this.encoder.encode(vote) };
      case 'empty-voter-id':
        return { key, value: this.encoder.encode({ ...vote, voterId: '' }) };
    }
  }

  /** The next record; updates the expected counts. */
  next(): GeneratedRecord {
    const { duplicateRatio, invalidRatio, followUpRatio } = this.options;
    const survey = this.zipf.sample(this.prng);
    const u = this.prng.next();
    let record: GeneratedRecord;
    if (u < invalidRatio) {
      record = this.invalid(survey);
    } else if (u < invalidRatio + duplicateRatio + followUpRatio && this.recentCount > 0) {
      const slot = this.prng.int(this.recentCount);
      const recentSurvey = this.recentSurvey[slot]!;
      const voter = this.recentVoter[slot]!;
      const answered = this.maskOf(recentSurvey, voter);
      const followUp = u >= invalidRatio + duplicateRatio && answered !== this.fullMask;
      // A follow-up adds one unanswered question (and may repeat answered ones); a duplicate
      // repeats a subset of the answered ones.
      let mask: number;
      if (followUp) {
        const unanswered = this.fullMask & ~answered;
        let bit = 1 << this.prng.int(this.questionIds.length);
        while ((bit & unanswered) === 0) bit = bit === 1 << (this.questionIds.length - 1) ? 1 : bit << 1;
        mask = bit | (this.prng.next() < 0.5 ? answered : 0);
      } else {
        mask = this.subsetOf(answered);
      }
      this.recordsPerSurvey[recentSurvey] += 1;
      record = this.valid(recentSurvey, voter, mask);
      this.sequence += 1;
      return record;
    } else {
      const voter = this.votersPerSurvey[survey]!;
      this.votersPerSurvey[survey] = voter + 1;
      record = this.valid(survey, voter, this.subsetOf(this.fullMask));
      this.remember(survey, voter);
    }
    this.recordsPerSurvey[survey] += 1;
    this.sequence += 1;
    return record;
  }

  /** Fills `into` with the next `count` records (reusing the array). */
  nextBatch(count: number, into: GeneratedRecord[] = []): GeneratedRecord[] {
    into.length = 0;
    for (let i = 0; i < count; i++) into.push(this.next());
    return into;
  }
}
