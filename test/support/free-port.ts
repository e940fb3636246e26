// A TCP port on 127.0.0.1 that is free now, for a child process or server that binds it later
// (an aggregator child, Prometheus, a private redis-server).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1 BELOW the kernel's ephemeral range, for a child that binds it seconds
 * later. A port from listen(0) is an ephemeral one: while other processes on this machine open many
 * connections (an SSE swarm holds tens of thousands), one of them can be handed that very port as
 * its local port before the child binds it, and the child dies with EADDRINUSE before it is ready.
 * Ports outside the range are only ever taken by an explicit bind.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralPortsStart();
  if (below - FIXED_PORTS_FROM < 1000) return anyPort(); // an unusual range: fall back to the kernel's pick
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIXED_PORTS_FROM + Math.floor(Math.random() * (below - FIXED_PORTS_FROM));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${FIXED_PORTS_FROM}..${below - 1}`);
}

/** Lowest port we pick: above the well-known and registered ports the stack and tools use. */
const FIXED_PORTS_FROM = 20_000;

function ephemeralPortsStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768; // Linux's default; other systems: IANA's range starts at 49152, so this stays below it
  }
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
