// Waiting in tests: poll a real condition with a deadline, and fail with a message that says what
// was awaited and what was last seen. A test never sleeps and then asserts: on a loaded 2-core
// machine any fixed sleep is either too short (flaky) or too long (slow).
export { setTimeout as sleep } from 'node:timers/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long; generous: it bounds a failure, not a success. */
  timeoutMs: number;
  /** What is awaited, for the error ("the aggregator's /readyz", "3 clients in the hub"). */
  what: string | (() => string);
  /** Pause between probes (default 50 ms). */
  intervalMs?: number;
  /**
   * Treat a probe that throws as "not yet" (a server not listening yet) and keep its message as the
   * last state seen. Default false: a throwing probe ends the wait at once (a child that exited).
   */
  retryOnError?: boolean;
}

/** The failure of a wait: names what was awaited, for how long, and the last state seen. */
export class WaitTimeout extends Error {
  constructor(what: WaitOptions['what'], timeoutMs: number, lastSeen: string | undefined) {
    super(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${lastSeen === undefined ? '' : `; last seen: ${lastSeen}`}`);
    this.name = 'WaitTimeout';
  }
}

/**
 * Calls `probe` until it returns something other than undefined, null or false, and returns that.
 * `probe` may call `seen(state)` to say what it saw, for the error message.
 */
export async function waitFor<T>(
  probe: (seen: (state: unknown) => void) => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions,
): Promise<T> {
  const { timeoutMs, what, intervalMs = 50, retryOnError = false } = options;
  const deadline = Date.now() + timeoutMs;
  let lastSeen: string | undefined;
  const seen = (state: unknown) => {
    lastSeen = typeof state === 'string' ? state : JSON.stringify(state);
  };
  for (;;) {
    try {
      // A probe that never settles (a request to a dying process) must not outlive the deadline.
      const value = await within(Promise.resolve(probe(seen)), { timeoutMs: Math.max(1, deadline - Date.now()), what });
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      if (error instanceof WaitTimeout) throw new WaitTimeout(what, timeoutMs, lastSeen);
      if (!retryOnError) throw error;
      lastSeen = (error as Error).message;
    }
    if (Date.now() >= deadline) throw new WaitTimeout(what, timeoutMs, lastSeen);
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** `promise`, or a WaitTimeout naming `what` if it has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, options: Omit<WaitOptions, 'intervalMs'>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(options.what, options.timeoutMs, undefined)), options.timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
