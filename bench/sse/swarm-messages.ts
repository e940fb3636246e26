// The whole parent ↔ swarm-child protocol (IPC messages of child_process.fork), in one place.
//
//   parent                              child (swarm-worker.ts)
//   ── start ──────────────────────────▶ opens `clients` raw sockets, ≤ connectConcurrency pending
//   ◀──────────────────────── progress ─ every second: connected / failed / events
//   ◀──────────────────────── connected  when every socket is open or failed
//   ── measure { fromEpochMs } ────────▶ count only snapshots generated from then on
//   ── stop ───────────────────────────▶ closes the sockets
//   ◀────────────────────────── report ─ per-snapshot counts, histograms, CPU, memory; then exits

export interface SwarmStart {
  type: 'start';
  port: number;
  /** one stream path per survey; client j of this child listens to paths[j % paths.length] */
  paths: string[];
  clients: number;
  /** index of this child's first client over the whole swarm (spreads source addresses) */
  firstClient: number;
  /** source addresses 127.0.0.<from>..127.0.0.<to> */
  addressFrom: number;
  addressTo: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
}

export interface SwarmMeasure {
  type: 'measure';
  fromEpochMs: number;
}

export interface SwarmStop {
  type: 'stop';
}

export type ParentMessage = SwarmStart | SwarmMeasure | SwarmStop;

export interface SwarmProgress {
  type: 'progress';
  connected: number;
  failed: number;
  closed: number;
  events: number;
}

export interface SwarmConnected {
  type: 'connected';
  connected: number;
  failed: number;
  /** epoch ms when the last socket got its answer */
  doneAt: number;
}

/** One snapshot as seen by this child's clients of one survey. */
export interface SnapshotSighting {
  path: number;
  id: string;
  generatedAt: number;
  receivers: number;
  firstAt: number;
  lastAt: number;
  /**
   * max over receivers of (received − generatedAt of the copy it got): in a cluster every process
   * closes its own window, so each copy carries its own generatedAt.
   */
  maxDelayMs: number;
}

export interface SwarmReport {
  type: 'report';
  connected: number;
  /** clients per path that were open when the measurement started */
  openAtMeasureStart: number[];
  failures: Record<string, number>;
  /** sockets closed by the server (or reset) after they were open */
  closed: number;
  events: number;
  bodyBytes: number;
  sightings: SnapshotSighting[];
  /** compressed HDR: connect() → first event (the initial snapshot) */
  setupHistogram: string;
  /** compressed HDR: snapshot generatedAt → received, every delivery */
  deliveryHistogram: string;
  cpuSeconds: number;
  rssBytes: number;
}

export type ChildMessage = SwarmProgress | SwarmConnected | SwarmReport;
