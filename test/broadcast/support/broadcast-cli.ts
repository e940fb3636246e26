// `tally broadcast` as a bench starts it (test/support/role-cli.ts): ready once it logs
// "broadcast cluster listening".
import { startRoleCli, type RoleCli } from '../../support/role-cli.js';

export type BroadcastCli = RoleCli;

export function startBroadcastCli(env: Record<string, string>): Promise<BroadcastCli> {
  return startRoleCli('broadcast', { TALLY_BROADCAST_PORT: '0', ...env }, { listeningMessage: 'broadcast cluster listening', timeoutMs: 30_000 });
}
