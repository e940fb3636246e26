// Feeds a peer server (peer-server.ts) the same snapshot events tally sends, at the same period:
// every `updateMs`, per survey, tally's own snapshot JSON for it (captured from the broadcaster's
// /v1/surveys/:id/results in the same run) with a fresh snapshotId and generatedAt = now, as one
// SSE event `id / event: snapshot / data`. generatedAt = the moment the bench publishes, so
// "window close → last client" means the same for a peer as for tally (the snapshot exists → the
// last client has it).
import type { BenchSurvey } from '../lib/survey-setup.js';
import type { PeerServer } from './peer-server.js';

/** A snapshot-shaped JSON of about tally's size, when tally's own could not be captured. */
export function syntheticSnapshotJson(surveyId: string, bytes: number): string {
  const base = { survey: { id: surveyId }, snapshotId: '0', generatedAt: 0, totalResponses: 0, padding: '' };
  const size = JSON.stringify(base).length;
  return JSON.stringify({ ...base, padding: 'x'.repeat(Math.max(0, bytes - size)) });
}

/** Tally's snapshot JSON as a template: snapshotId and generatedAt replaced per event. */
export function peerEvent(template: string, snapshotId: string, generatedAt: number): { json: string; event: Buffer } {
  const snapshot = JSON.parse(template) as Record<string, unknown>;
  snapshot.snapshotId = snapshotId;
  snapshot.generatedAt = generatedAt;
  const json = JSON.stringify(snapshot);
  return { json, event: Buffer.from(`id: ${snapshotId}\nevent: snapshot\ndata: ${json}\n\n`, 'utf8') };
}

export class PeerFeed {
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;

  constructor(
    private readonly server: PeerServer,
    private readonly surveys: BenchSurvey[],
    private readonly templates: string[],
  ) {}

  /** Publishes the first snapshot now (what a client gets on connect), then one every `updateMs`. */
  start(updateMs: number): void {
    this.publish();
    this.timer = setInterval(() => this.publish(), updateMs);
  }

  private publish(): void {
    this.sequence += 1;
    const now = Date.now();
    this.surveys.forEach((survey, i) => {
      const { json, event } = peerEvent(this.templates[i]!, `${this.server.name}-${this.sequence}`, now);
      this.server.publish(i, survey.id, json, event);
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
