// Placeholder until the verify issue lands.
import type { TallyConfig } from '../config.js';
export async function runVerify(_config: TallyConfig, _options: { survey?: string; partition?: number; json?: boolean }): Promise<number> {
  throw new Error('not implemented yet');
}
