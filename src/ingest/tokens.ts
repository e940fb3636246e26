// Placeholder until the ingest/auth issue lands.
import type { TallyConfig } from '../config.js';
export type TokenSubject = { kind: 'admin' } | { kind: 'voter'; voterId: string };
export function mintToken(_config: TallyConfig, _subject: TokenSubject, _ttlSeconds: number): string {
  throw new Error('not implemented yet');
}
