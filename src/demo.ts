// Placeholder until ingest and broadcast land.
import type { TallyConfig } from './config.js';
export async function runDemo(_config: TallyConfig, _options: { rate: number }): Promise<void> {
  throw new Error('not implemented yet');
}
