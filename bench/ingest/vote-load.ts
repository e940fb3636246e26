// HTTP vote load against the ingest API: `concurrency` request loops over keep-alive connections,
// closed-loop (as fast as answers come back) or paced to a total `rate`. Every request is a new
// voter (a fresh voter token), so every vote is acceptable; latencies go to HDR histograms.
import http from 'node:http';
import type { TallyConfig } from '../../src/config.js';
import { mintToken } from '../../src/ingest/tokens.js';
import { createHistogram, recordMs, type Histogram } from '../lib/latency-histogram.js';
import { Prng } from '../lib/prng.js';
import { Zipf } from '../lib/zipf.js';
import type { BenchSurvey } from '../lib/survey-setup.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface VoteLoadOptions {
  port: number;
  surveys: BenchSurvey[];
  zipf: number;
  concurrency: number;
  /** total requests/s over all loops; 0 = closed loop */
  rate: number;
  warmupSeconds: number;
  durationSeconds: number;
  runId: string;
  seed: number;
  regions: string[];
}

/** One accepted vote, for scenarios that follow votes downstream (e2e). */
export interface AcceptedVote {
  surveyId: string;
  partition: number;
  offset: number;
  /** epoch ms when the 202 arrived */
  acceptedAt: number;
}

export interface VoteLoadResult {
  /** 202 answers in the measured phase */
  accepted: number;
  /** 202 answers including the warm-up */
  acceptedTotal: number;
  /** status or error code → count */
  errors: Record<string, number>;
  latency: Histogram;
  errorLatency: Histogram;
  measuredSeconds: number;
  /** accepted per second of the measured phase, one entry per second */
  perSecond: { second: number; accepted: number; errors: number }[];
}

interface Reply {
  status: number;
  body: string;
}

function post(agent: http.Agent, port: number, path: string, token: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    request.setTimeout(30_000, () => request.destroy(new Error('timeout after 30 s')));
    request.on('error', reject);
    request.end(body);
  });
}

export async function runVoteLoad(config: TallyConfig, options: VoteLoadOptions, onAccepted?: (vote: AcceptedVote) => void, onSecond?: (line: string) => void): Promise<VoteLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const prng = new Prng(options.seed);
  const zipf = new Zipf(options.surveys.length, options.zipf);
  const latency = createHistogram();
  const errorLatency = createHistogram();
  const errors: Record<string, number> = {};
  const perSecond: VoteLoadResult['perSecond'] = [];
  let accepted = 0;
  let acceptedTotal = 0;
  let sequence = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupSeconds * 1000;
  const stopAt = measureFrom + options.durationSeconds * 1000;
  const intervalMs = options.rate > 0 ? (1000 * options.concurrency) / options.rate : 0;
  let secondAccepted = 0;
  let secondErrors = 0;
  const ticker = setInterval(() => {
    const second = Math.round((performance.now() - measureFrom) / 1000);
    if (second > 0) perSecond.push({ second, accepted: secondAccepted, errors: secondErrors });
    onSecond?.(`${second <= 0 ? 'warm-up' : `${second}/${options.durationSeconds} s`}: ${secondAccepted} accepted/s, ${secondErrors} errors/s`);
    secondAccepted = 0;
    secondErrors = 0;
  }, 1000);

  const loop = async (index: number) => {
    // Loops start staggered so paced requests spread evenly over each interval.
    let next = start + (intervalMs * index) / options.concurrency;
    while (performance.now() < stopAt) {
      if (intervalMs > 0) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += intervalMs;
      }
      const n = sequence++;
      const survey = options.surveys[zipf.sample(prng)]!;
      const answers: Record<string, string[]> = {};
      for (const question of survey.questions) answers[question.id] = [question.options[prng.int(question.options.length)]!];
      const region = options.regions[n % options.regions.length]!;
      const token = mintToken(config, { kind: 'voter', voterId: `bench-${options.runId}-${n}` }, 3600);
      const body = JSON.stringify({ answers, region });
      const sentAt = performance.now();
      const measured = sentAt >= measureFrom;
      try {
        const reply = await post(agent, options.port, `/v1/surveys/${survey.id}/votes`, token, body);
        const ms = performance.now() - sentAt;
        if (reply.status === 202) {
          acceptedTotal += 1;
          if (measured) {
            accepted += 1;
            secondAccepted += 1;
            recordMs(latency, ms);
          }
          if (onAccepted) {
            const parsed = JSON.parse(reply.body) as { partition: number; offset: string | number };
            onAccepted({ surveyId: survey.id, partition: parsed.partition, offset: Number(parsed.offset), acceptedAt: Date.now() });
          }
        } else if (measured) {
          let code = String(reply.status);
          try {
            code = `${reply.status} ${(JSON.parse(reply.body) as { code?: string }).code ?? ''}`.trim();
          } catch {
            // not JSON: the status alone
          }
          errors[code] = (errors[code] ?? 0) + 1;
          secondErrors += 1;
          recordMs(errorLatency, ms);
        }
      } catch (error) {
        if (measured) {
          const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          errors[code] = (errors[code] ?? 0) + 1;
          secondErrors += 1;
        }
        await sleep(10); // a refused connection must not spin
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => loop(i)));
  clearInterval(ticker);
  agent.destroy();
  return { accepted, acceptedTotal, errors, latency, errorLatency, measuredSeconds: (performance.now() - measureFrom) / 1000, perSecond };
}
