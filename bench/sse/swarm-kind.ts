// Which client swarm a scenario uses: the lean C one (default: a few µs of CPU per delivery) or the
// Node one (net.Socket children, ~12 µs). Both report the same merged figures (client-swarm.ts).
import { ClientSwarm, type Swarm, type SwarmOptions } from './client-swarm.js';
import { LeanSwarm } from './lean-swarm.js';

export const SWARM_KINDS = ['lean', 'node'] as const;
export type SwarmKind = (typeof SWARM_KINDS)[number];

/** The default clients per swarm process: under the 20,000 open-file limit with room to spare. */
export function defaultClientsPerProcess(kind: SwarmKind): number {
  return kind === 'lean' ? 16_000 : 15_000;
}

export function makeSwarm(kind: SwarmKind, options: SwarmOptions): Swarm {
  return kind === 'lean' ? new LeanSwarm(options) : new ClientSwarm(options);
}
