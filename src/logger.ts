// JSON logs (pino). Every line carries the role; callers add partition/survey as child bindings.
// Voter ids, tokens and secrets are never logged: the redact list is a safety net, not a licence.
import { pino, type Logger } from 'pino';
import type { TallyConfig } from './config.js';

export type { Logger };

export function createLogger(role: string, config: Pick<TallyConfig, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'voterId', '*.voterId', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}
