// Placeholder until the operations issue lands.
import type { TallyConfig } from '../config.js';
export async function runLag(_config: TallyConfig, _options: { json?: boolean }): Promise<number> {
  throw new Error('not implemented yet');
}
