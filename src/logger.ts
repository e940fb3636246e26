// JSON logs (pino). Every line carries the role; callers add partition/survey as child bindings.
// Voter ids, tokens and secrets are never logged: the redact list is a safety net, not a licence.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { TallyConfig } from './config.js';

export type { Logger };

/** Logs go to stdout unless `destination` says otherwise (CLI commands whose stdout is their output use stderr). */
export function createLogger(role: string, config: Pick<TallyConfig, 'logLevel'>, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.logLevel,
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'voterId', '*.voterId', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
