// What every role module exports: start with a validated config, stop gracefully.
import type { TallyConfig } from './config.js';

export interface RunningRole {
  /** Human-readable addresses the role serves, printed at start-up. */
  readonly addresses: string[];
  /** Graceful stop: finish in-flight work, release resources. Safe to call twice. */
  close(): Promise<void>;
}

export type StartRole = (config: TallyConfig) => Promise<RunningRole>;

/** Runs `close` once on SIGTERM/SIGINT, then exits 0 (1 if closing failed). */
export function closeOnSignals(close: () => Promise<void>, log: (message: string) => void): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log(`${signal} received: shutting down gracefully`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${(error as Error).stack ?? String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
