// Correctness of what a standard client receives: every event is a snapshot of the right survey,
// its JSON parses, the SSE id equals snapshotId, and snapshots never go back (ids, totals and
// generation times only grow). Used by fanout and e2e next to the raw swarm.
import { EventSourceClient, type ServerSentEvent } from './event-source-client.js';

export interface SnapshotView {
  survey: { id: string };
  totalResponses: number;
  snapshotId: string;
  generatedAt: number;
  lastCastAt: number | null;
  watermark: { [partition: string]: string };
}

export interface CheckerReport {
  surveyId: string;
  snapshots: number;
  problems: string[];
  last: SnapshotView | undefined;
}

const MAX_PROBLEMS = 20;

export class SnapshotChecker {
  readonly report: CheckerReport;
  private readonly client: EventSourceClient;

  constructor(
    url: string,
    surveyId: string,
    private readonly onSnapshot?: (snapshot: SnapshotView, event: ServerSentEvent) => void,
  ) {
    this.report = { surveyId, snapshots: 0, problems: [], last: undefined };
    this.client = new EventSourceClient({ url, onEvent: (event) => this.check(event), onError: (message) => this.problem(`connection: ${message}`), maxReconnects: 3 });
  }

  private problem(text: string): void {
    if (this.report.problems.length < MAX_PROBLEMS) this.report.problems.push(text);
  }

  private check(event: ServerSentEvent): void {
    if (event.type !== 'snapshot') return;
    let snapshot: SnapshotView;
    try {
      snapshot = JSON.parse(event.data) as SnapshotView;
    } catch {
      this.problem(`event ${event.lastEventId}: data is not JSON`);
      return;
    }
    this.report.snapshots += 1;
    if (snapshot.survey?.id !== this.report.surveyId) this.problem(`event ${event.lastEventId}: survey ${snapshot.survey?.id}, expected ${this.report.surveyId}`);
    if (event.lastEventId !== snapshot.snapshotId) this.problem(`SSE id ${event.lastEventId} ≠ snapshotId ${snapshot.snapshotId}`);
    const last = this.report.last;
    if (last) {
      if (BigInt(snapshot.snapshotId) < BigInt(last.snapshotId)) this.problem(`snapshotId went back: ${last.snapshotId} → ${snapshot.snapshotId}`);
      if (snapshot.totalResponses < last.totalResponses) this.problem(`totalResponses went back: ${last.totalResponses} → ${snapshot.totalResponses}`);
      if (snapshot.generatedAt < last.generatedAt) this.problem(`generatedAt went back: ${last.generatedAt} → ${snapshot.generatedAt}`);
    }
    this.report.last = snapshot;
    this.onSnapshot?.(snapshot, event);
  }

  close(): CheckerReport {
    this.client.close();
    return this.report;
  }
}
