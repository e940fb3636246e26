// Votes over HTTP for scenarios that follow them downstream (e2e): the ingest bench's generator
// (http-load.ts, pre-minted voter tokens, raw keep-alive sockets) with every 202's partition and
// offset handed to `onAccepted`.
import type { TallyConfig } from '../../src/config.js';
import type { Histogram } from '../lib/latency-histogram.js';
import type { BenchSurvey } from '../lib/survey-setup.js';
import { runHttpLoad } from './http-load.js';
import { errorLabel, VoteRequests, VoterTokens } from './vote-requests.js';

export interface VoteLoadOptions {
  port: number;
  surveys: BenchSurvey[];
  zipf: number;
  concurrency: number;
  /** total requests/s over all connections; 0 = closed loop */
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
  accepted: number;
  acceptedTotal: number;
  errors: Record<string, number>;
  latency: Histogram;
  errorLatency: Histogram;
  measuredSeconds: number;
  perSecond: { second: number; accepted: number; errors: number }[];
}

export async function runVoteLoad(config: TallyConfig, options: VoteLoadOptions, onAccepted?: (vote: AcceptedVote) => void, onSecond?: (line: string) => void): Promise<VoteLoadResult> {
  const tokens = new VoterTokens(config, options.runId);
  // Paced runs know how many voters they need; closed loops mint more on the fly if they run out.
  tokens.fill(options.rate > 0 ? Math.ceil(options.rate * (options.warmupSeconds + options.durationSeconds) * 1.05) + options.concurrency : 50_000);
  const requests = new VoteRequests(tokens, { port: options.port, surveys: options.surveys, zipf: options.zipf, seed: options.seed, regions: options.regions });
  const load = await runHttpLoad({
    port: options.port,
    connections: options.concurrency,
    rate: options.rate,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    request: (i) => requests.request(i, onAccepted !== undefined),
    classify: (i, status, body) => {
      if (status !== 202) return errorLabel(status, body);
      if (onAccepted) {
        const parsed = JSON.parse(body.toString('utf8')) as { partition: number; offset: string | number };
        onAccepted({ surveyId: requests.surveyOf[i]!, partition: parsed.partition, offset: Number(parsed.offset), acceptedAt: Date.now() });
      }
      return null;
    },
    onSecond,
  });
  return {
    accepted: load.ok,
    acceptedTotal: load.okTotal,
    errors: load.errors,
    latency: load.latency,
    errorLatency: load.errorLatency,
    measuredSeconds: load.measuredSeconds,
    perSecond: load.perSecond.map((s) => ({ second: s.second, accepted: s.ok, errors: s.errors })),
  };
}
