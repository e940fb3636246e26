// The chaos scenario's voters: one ballot per voter, sent at a steady rate, each retried with the
// same Idempotency-Key and the same answers until it gets a definitive answer, as the ingest README
// tells a client to ("When something fails"). The expected counts are what the answers imply:
//
//   202 (first or replayed)                      recorded: counted
//   409 TALLY_ERR_DUPLICATE_VOTE after a retry   recorded by an earlier attempt whose answer was lost
//                                                (the same ballot): counted, and reported apart
//   503, 409 in progress / unsettled, no answer  not definitive: retried after Retry-After (≤ 2 s)
//   any other 4xx                                refused for good: not counted, reported (should be 0)
//
// A ballot still without a definitive answer at its deadline is "unresolved": the run fails, since
// the expected counts are then unknown.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TallyConfig } from '../../src/config.js';
import { mintToken } from '../../src/ingest/tokens.js';
import { BENCH_REGIONS, type BenchSurvey } from '../lib/survey-setup.js';
import { Prng } from '../lib/prng.js';

export interface Ballot {
  index: number;
  surveyId: string;
  /** question id → option id */
  answers: Record<string, string>;
  region: string;
}

export type BallotOutcome = 'accepted' | 'recorded-earlier' | 'refused' | 'unresolved';

/** One HTTP answer, for the timeline and the per-fault figures. */
export interface AnswerEvent {
  /** epoch ms */
  at: number;
  status: number;
  /** `503 TALLY_ERR_UNAVAILABLE`, `network`, … (undefined for 202) */
  label?: string;
}

export interface AcceptedBallot extends Ballot {
  partition: number;
  offset: number;
  acceptedAt: number;
}

export interface BallotLoadOptions {
  port: number;
  surveys: BenchSurvey[];
  /** new ballots per second */
  rate: number;
  /** most requests in flight */
  maxInFlight: number;
  runId: string;
  seed: number;
  /** give up on a ballot this long after its first attempt */
  ballotDeadlineMs: number;
}

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_RETRY_DELAY_MS = 2000;

export class BallotLoad {
  readonly answers: AnswerEvent[] = [];
  readonly accepted: AcceptedBallot[] = [];
  readonly recordedEarlier: Ballot[] = [];
  readonly refused: { ballot: Ballot; answer: string }[] = [];
  readonly unresolved: Ballot[] = [];
  private readonly prng: Prng;
  private sending = false;
  private aborted = false;
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private issued = 0;

  constructor(
    private readonly config: TallyConfig,
    private readonly options: BallotLoadOptions,
  ) {
    this.prng = new Prng(options.seed);
  }

  get ballotsIssued(): number {
    return this.issued;
  }

  get pending(): number {
    return this.running.size;
  }

  /** Issues ballots at the rate until stop(); returns at once. */
  start(): void {
    this.sending = true;
    void this.pace();
  }

  /** Stops issuing; resolves when every issued ballot has a definitive answer or hit its deadline. */
  async stop(): Promise<void> {
    this.sending = false;
    while (this.running.size > 0) await Promise.race(this.running);
  }

  /** Gives up on every ballot still without a definitive answer (they become unresolved). */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.stop();
  }

  /** Counts implied by the definitive answers: survey → question → option → votes, and responses. */
  expected(): Map<string, { responses: number; votes: Record<string, Record<string, number>> }> {
    const result = new Map(this.options.surveys.map((s) => [s.id, { responses: 0, votes: {} as Record<string, Record<string, number>> }]));
    for (const ballot of [...this.accepted, ...this.recordedEarlier]) {
      const survey = result.get(ballot.surveyId)!;
      survey.responses += 1;
      for (const [question, option] of Object.entries(ballot.answers)) {
        const options = (survey.votes[question] ??= {});
        options[option] = (options[option] ?? 0) + 1;
      }
    }
    return result;
  }

  private async pace(): Promise<void> {
    const begin = performance.now();
    while (this.sending) {
      const due = Math.floor(((performance.now() - begin) / 1000) * this.options.rate);
      while (this.issued < due && this.inFlight < this.options.maxInFlight && this.sending) {
        const ballot = this.nextBallot();
        const run = this.cast(ballot).finally(() => this.running.delete(run));
        this.running.add(run);
      }
      await sleep(10);
    }
  }

  private nextBallot(): Ballot {
    const index = this.issued++;
    const survey = this.options.surveys[this.prng.int(this.options.surveys.length)]!;
    const answers: Record<string, string> = {};
    for (const question of survey.questions) answers[question.id] = question.options[this.prng.int(question.options.length)]!;
    return { index, surveyId: survey.id, answers, region: BENCH_REGIONS[index % BENCH_REGIONS.length]! };
  }

  private async cast(ballot: Ballot): Promise<void> {
    const token = mintToken(this.config, { kind: 'voter', voterId: `chaos-${this.options.runId}-${ballot.index}` }, 6 * 3600);
    const body = JSON.stringify({ answers: Object.fromEntries(Object.entries(ballot.answers).map(([q, o]) => [q, [o]])), region: ballot.region });
    const deadline = Date.now() + this.options.ballotDeadlineMs;
    let attempts = 0;
    while (Date.now() < deadline && !this.aborted) {
      attempts += 1;
      let status = 0;
      let text = '';
      let retryAfterMs = 500;
      this.inFlight += 1;
      try {
        const response = await fetch(`http://127.0.0.1:${this.options.port}/v1/surveys/${ballot.surveyId}/votes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `chaos-${ballot.index}` },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        status = response.status;
        text = await response.text();
        const retryAfter = Number(response.headers.get('retry-after'));
        if (retryAfter > 0) retryAfterMs = Math.min(MAX_RETRY_DELAY_MS, retryAfter * 1000);
      } catch {
        status = 0;
      } finally {
        this.inFlight -= 1;
      }
      const now = Date.now();
      if (status === 202) {
        this.answers.push({ at: now, status });
        const parsed = JSON.parse(text) as { partition: number; offset: string | number };
        this.accepted.push({ ...ballot, partition: parsed.partition, offset: Number(parsed.offset), acceptedAt: now });
        return;
      }
      const code = /"code":"([A-Z_]+)"/.exec(text)?.[1];
      const label = status === 0 ? 'no answer' : `${status}${code ? ` ${code}` : ''}`;
      this.answers.push({ at: now, status, label });
      if (status === 409 && code === 'TALLY_ERR_DUPLICATE_VOTE' && attempts > 1) {
        this.recordedEarlier.push(ballot);
        return;
      }
      const retryable = status === 0 || status === 503 || status === 502 || status === 500 || (status === 409 && code !== 'TALLY_ERR_DUPLICATE_VOTE') || status === 429;
      if (!retryable) {
        this.refused.push({ ballot, answer: label });
        return;
      }
      await sleep(retryAfterMs);
    }
    this.unresolved.push(ballot);
  }
}
