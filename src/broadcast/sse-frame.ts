// SSE wire frames, serialized once and shared: a snapshot becomes one Buffer that is written,
// unchanged, to every subscriber of its survey (and to every new subscriber until the next one).
import type { SurveySnapshot } from './snapshot.js';

/** The SSE event name of a snapshot; dashboards listen with addEventListener('snapshot', ...). */
export const SNAPSHOT_EVENT = 'snapshot';

/** How long EventSource waits before reconnecting (the `retry:` hint), in ms. */
export const RETRY_MS = 2000;

export interface SnapshotFrame {
  snapshot: SurveySnapshot;
  /** The JSON text, for the JSON results endpoint (same content as the stream). */
  json: string;
  /** The whole SSE event (`id`, `event`, `data`, blank line) as bytes. */
  bytes: Buffer;
  /** The same event for fastify-sse-v2's reply.sse(), used only by the per-client plugin path. */
  message: { id: string; event: string; data: string };
}

export function snapshotFrame(snapshot: SurveySnapshot): SnapshotFrame {
  // JSON.stringify escapes newlines inside strings, so the data fits on one `data:` line.
  const json = JSON.stringify(snapshot);
  const bytes = Buffer.from(`id: ${snapshot.snapshotId}\nevent: ${SNAPSHOT_EVENT}\ndata: ${json}\n\n`, 'utf8');
  return { snapshot, json, bytes, message: { id: snapshot.snapshotId, event: SNAPSHOT_EVENT, data: json } };
}

/** A comment line: keeps idle connections (and proxies) open, ignored by EventSource. */
export const HEARTBEAT_FRAME = Buffer.from(':heartbeat\n\n', 'utf8');

/** Sent before the server closes a stream on shutdown: reconnect soon, to another process. */
export const SHUTDOWN_FRAME = Buffer.from(`event: shutdown\ndata: {"reason":"shutdown"}\nretry: ${RETRY_MS}\n\n`, 'utf8');

/** How long a client dropped as slow should wait before reconnecting (the `retry:` of its goodbye). */
export const SLOW_RETRY_MS = 10_000;

/**
 * Sent before the server closes a stream that stayed behind for MAX_SKIPPED_WINDOWS snapshots
 * (subscriber.ts): why it is closed, and to come back later (it then gets the current snapshot).
 * It queues behind the bytes the client has not read yet, so a client that reads again sees it last.
 */
export const DROPPED_SLOW_FRAME = Buffer.from(`event: dropped\ndata: {"reason":"slow"}\nretry: ${SLOW_RETRY_MS}\n\n`, 'utf8');
