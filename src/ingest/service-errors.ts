// A backing service that cannot be reached is a 503 with Retry-After (TALLY_ERR_UNAVAILABLE), not a
// 500: the client should retry, and nothing was written. Anything else (a bug, a constraint) stays
// an internal error.
import { TallyError, isTallyError } from '../errors.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

function isConnectionFailure(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Connection is closed|enableOfflineQueue|Stream isn't writeable/.test(message);
}

/** Runs `operation`; connection failures of `service` become TALLY_ERR_UNAVAILABLE. */
export async function callService<T>(service: 'postgres' | 'redis', operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (!isTallyError(error) && isConnectionFailure(error)) {
      throw new TallyError('TALLY_ERR_UNAVAILABLE', `${service} is unreachable`, { cause: error, retryAfterSeconds: 1 });
    }
    throw error;
  }
}
