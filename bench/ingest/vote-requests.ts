// The vote requests of a bench run, as the bytes the load generator writes. Voter tokens are minted
// before the load starts (minting is an HMAC per voter: done during the load it would be the
// generator's largest cost), one voter per request; a request answers every question of a
// Zipf-chosen survey with a random option.
import type { TallyConfig } from '../../src/config.js';
import { mintToken } from '../../src/ingest/tokens.js';
import type { BenchSurvey } from '../lib/survey-setup.js';
import { Prng } from '../lib/prng.js';
import { Zipf } from '../lib/zipf.js';

export class VoterTokens {
  private readonly tokens: string[] = [];
  /** Tokens minted while a load ran because the pool was too small (reported: it costs generator CPU). */
  mintedDuringLoad = 0;
  private loading = false;

  constructor(
    private readonly config: TallyConfig,
    private readonly runId: string,
  ) {}

  get size(): number {
    return this.tokens.length;
  }

  /** Mints tokens until the pool holds `count`, reporting progress every 100,000. */
  fill(count: number, progress?: (line: string) => void): void {
    while (this.tokens.length < count) {
      this.tokens.push(this.mint(this.tokens.length));
      if (this.tokens.length % 100_000 === 0) progress?.(`${this.tokens.length.toLocaleString('en-US')} voter tokens minted`);
    }
  }

  /** Marks the start / end of a load (tokens minted meanwhile are counted). */
  duringLoad(loading: boolean): void {
    this.loading = loading;
  }

  get(index: number): string {
    while (index >= this.tokens.length) {
      this.tokens.push(this.mint(this.tokens.length));
      if (this.loading) this.mintedDuringLoad += 1;
    }
    return this.tokens[index]!;
  }

  private mint(index: number): string {
    return mintToken(this.config, { kind: 'voter', voterId: `bench-${this.runId}-${index}` }, 6 * 3600);
  }
}

export interface VoteRequestOptions {
  port: number;
  surveys: BenchSurvey[];
  zipf: number;
  seed: number;
  regions: string[];
  /** Reuse the pool's tokens round-robin instead of one new voter per request (peers that check no token). */
  cycleTokens?: boolean;
}

/** Request i: voter i of the pool votes in one survey; `surveyOf(i)` tells which (for e2e). */
export class VoteRequests {
  private readonly prng: Prng;
  private readonly zipf: Zipf;
  private readonly head: string;
  readonly surveyOf: string[] = [];

  constructor(
    private readonly tokens: VoterTokens,
    private readonly options: VoteRequestOptions,
  ) {
    this.prng = new Prng(options.seed);
    this.zipf = new Zipf(options.surveys.length, options.zipf);
    this.head = `HTTP/1.1\r\nhost: 127.0.0.1:${options.port}\r\ncontent-type: application/json\r\nauthorization: Bearer `;
  }

  request(i: number, rememberSurvey = false): Buffer {
    const survey = this.options.surveys[this.zipf.sample(this.prng)]!;
    if (rememberSurvey) this.surveyOf[i] = survey.id;
    let body = '{"answers":{';
    for (let q = 0; q < survey.questions.length; q++) {
      const question = survey.questions[q]!;
      body += `${q === 0 ? '' : ','}"${question.id}":["${question.options[this.prng.int(question.options.length)]!}"]`;
    }
    body += `},"region":"${this.options.regions[i % this.options.regions.length]!}"}`;
    return Buffer.from(`POST /v1/surveys/${survey.id}/votes ${this.head}${this.tokens.get(this.options.cycleTokens ? i % this.tokens.size : i)}\r\ncontent-length: ${body.length}\r\n\r\n${body}`, 'latin1');
  }
}

const VOTE_ID = Buffer.from('"voteId":"');

/** The voteId of a 202 body (`{"voteId":"…",…}`), read without parsing the JSON. */
export function voteIdOf(body: Buffer): string | null {
  const at = body.indexOf(VOTE_ID);
  if (at < 0) return null;
  const from = at + VOTE_ID.length;
  const to = body.indexOf(34, from); // closing quote
  return to < 0 ? null : body.toString('latin1', from, to);
}

/** "409 TALLY_ERR_DUPLICATE_VOTE" from an error body, or the status alone when it has no code. */
export function errorLabel(status: number, body: Buffer): string {
  const at = body.indexOf('"code":"');
  if (at < 0) return String(status);
  const to = body.indexOf(34, at + 8);
  return `${status} ${body.toString('latin1', at + 8, to)}`;
}
