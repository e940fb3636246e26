// Per survey served by this process: whether its counts changed since the last snapshot, and the
// latest snapshot frame (what new subscribers and the JSON endpoint get). Surveys enter when a
// client first asks for them and leave after a while without subscribers or requests.
import { TallyError } from '../errors.js';
import { buildSnapshot } from './snapshot.js';
import { snapshotFrame, type SnapshotFrame } from './sse-frame.js';
import type { PartialFeed } from './partial-feed.js';
import type { SurveyCatalog } from './survey-catalog.js';

/** A survey nobody streamed or requested for this long is forgotten (its partials dropped). */
export const IDLE_SURVEY_MS = 5 * 60_000;

interface SurveyEntry {
  changed: boolean;
  latest: SnapshotFrame | undefined;
  lastUsedAt: number;
}

export class ResultsBoard {
  private readonly surveys = new Map<string, SurveyEntry>();
  private feed!: PartialFeed;
  private catalog!: SurveyCatalog;

  /** The feed and catalog report changes back to the board, so they are attached after construction. */
  attach(feed: PartialFeed, catalog: SurveyCatalog): void {
    this.feed = feed;
    this.catalog = catalog;
  }

  markChanged(surveyId: string): void {
    const entry = this.surveys.get(surveyId);
    if (entry) entry.changed = true;
  }

  /** The latest snapshot of a survey, loading the survey first if this process does not serve it yet. */
  async open(surveyId: string): Promise<SnapshotFrame> {
    const metadata = await this.catalog.get(surveyId);
    if (!metadata) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${surveyId}`);
    await this.feed.track(surveyId);
    let entry = this.surveys.get(surveyId);
    if (!entry) this.surveys.set(surveyId, (entry = { changed: true, latest: undefined, lastUsedAt: Date.now() }));
    entry.lastUsedAt = Date.now();
    return entry.latest ?? this.publish(surveyId, Date.now())!;
  }

  latest(surveyId: string): SnapshotFrame | undefined {
    return this.surveys.get(surveyId)?.latest;
  }

  changedSurveys(): string[] {
    const changed: string[] = [];
    for (const [surveyId, entry] of this.surveys) if (entry.changed) changed.push(surveyId);
    return changed;
  }

  /** Builds and serializes a new snapshot (once, for every subscriber); undefined if the survey is gone. */
  publish(surveyId: string, now: number): SnapshotFrame | undefined {
    const entry = this.surveys.get(surveyId);
    const metadata = this.catalog.peek(surveyId);
    if (!entry || !metadata) return undefined;
    entry.changed = false;
    entry.latest = snapshotFrame(buildSnapshot(metadata, this.feed.partials(surveyId), now));
    return entry.latest;
  }

  /** Forgets surveys idle for IDLE_SURVEY_MS that no local client streams. */
  sweep(isStreamed: (surveyId: string) => boolean, now: number): void {
    for (const [surveyId, entry] of this.surveys) {
      if (isStreamed(surveyId)) entry.lastUsedAt = now;
      else if (now - entry.lastUsedAt > IDLE_SURVEY_MS) {
        this.surveys.delete(surveyId);
        this.feed.untrack(surveyId);
        this.catalog.forget(surveyId);
      }
    }
  }
}
