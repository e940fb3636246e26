// Placeholder until the role lands; replaced by its issue's implementation.
import type { TallyConfig } from '../config.js';
import type { RunningRole } from '../role.js';

export async function start(_config: TallyConfig): Promise<RunningRole> {
  throw new Error('not implemented yet');
}
