// `tally demo`: what a new user sees first. Through the public HTTP API only (as a real client
// would): create and publish a demo survey, print the dashboard URL, then send a trickle of votes
// from random demo voters until stopped.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TallyConfig } from './config.js';
import { mintToken } from './ingest/tokens.js';

interface CreatedSurvey {
  id: string;
  questions: { id: string; min: number; max: number; options: { id: string }[] }[];
}

const REGIONS = ['north', 'south', 'east', 'west'];
const DEMO_SURVEY = {
  title: 'Springfield elections (demo)',
  regions: REGIONS,
  questions: [
    {
      title: 'Who would you vote for president?',
      min: 1,
      max: 1,
      order: 0,
      options: ['Homer Simpson', 'Ned Flanders', 'Marge Simpson', 'Lisa Simpson'].map((text, order) => ({ text, order })),
    },
    {
      title: 'Who would you vote for minister?',
      min: 1,
      max: 2,
      order: 1,
      options: ['Montgomery Burns', 'Sideshow Bob', 'Apu Nahasapeemapetilon'].map((text, order) => ({ text, order })),
    },
  ],
};
// Skewed choice so the bars differ visibly.
const WEIGHTS = [0.4, 0.3, 0.2, 0.1];

function pickWeighted<T>(items: T[]): T {
  let r = Math.random();
  for (let i = 0; i < items.length; i++) {
    r -= WEIGHTS[i] ?? 0.1;
    if (r <= 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

async function waitFor(url: string, what: string): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (attempt % 10 === 9) process.stderr.write(`demo: waiting for ${what} (${url})\n`);
    await sleep(500);
  }
  throw new Error(`demo: ${what} did not become ready at ${url}`);
}

async function call<T>(method: string, url: string, token: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`demo: ${method} ${url} → ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function runDemo(config: TallyConfig, options: { rate: number }): Promise<void> {
  const ingest = `http://${config.host}:${config.ports.ingest}`;
  const broadcast = `http://${config.host}:${config.ports.broadcast}`;
  await waitFor(`${ingest}/readyz`, 'ingest');
  await waitFor(`${broadcast}/readyz`, 'broadcast');

  const admin = mintToken(config, { kind: 'admin' }, 24 * 3600);
  const survey = await call<CreatedSurvey>('POST', `${ingest}/v1/internal/surveys`, admin, DEMO_SURVEY);
  await call('PUT', `${ingest}/v1/internal/surveys/${survey.id}/publish`, admin);

  process.stdout.write(
    [
      '',
      `  demo survey ${survey.id} published; sending ~${options.rate} votes/s`,
      `  dashboard:  ${broadcast}/dashboard/${survey.id}`,
      `  stream:     curl -N ${broadcast}/v1/surveys/${survey.id}/results/stream`,
      `  results:    curl ${broadcast}/v1/surveys/${survey.id}/results`,
      `  metrics:    ${ingest}/metrics  ${broadcast}/metrics  http://${config.host}:${config.ports.aggregate}/metrics`,
      '',
    ].join('\n') + '\n',
  );

  const interval = 1000 / Math.max(options.rate, 0.1);
  let sent = 0;
  for (;;) {
    const voter = mintToken(config, { kind: 'voter', voterId: `demo-voter-${Math.floor(Math.random() * 1e9)}` }, 600);
    const answers: Record<string, string[]> = {};
    for (const question of survey.questions) {
      const first = pickWeighted(question.options).id;
      const extra = question.max > 1 && Math.random() < 0.3 ? question.options.find((o) => o.id !== first)?.id : undefined;
      answers[question.id] = extra ? [first, extra] : [first];
    }
    try {
      await call('POST', `${ingest}/v1/surveys/${survey.id}/votes`, voter, { answers, region: REGIONS[sent % REGIONS.length] });
      sent++;
      if (sent % 100 === 0) process.stderr.write(`demo: ${sent} votes sent\n`);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
    }
    await sleep(interval);
  }
}
