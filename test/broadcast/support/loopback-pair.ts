// Real loopback TCP connections for the write-path tests (socket-direct-write, socket-batch-write):
// a server whose accepted sockets the test writes to, and the client sockets that read them.
import { once } from 'node:events';
import net from 'node:net';

export interface LoopbackServer {
  /** A connected pair: `sending` is the server's side (written to), `receiving` the client's. */
  connectedPair(): Promise<{ sending: net.Socket; receiving: net.Socket }>;
  close(): void;
}

export async function startLoopbackServer(): Promise<LoopbackServer> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined); // resets are part of the tests
    accepted.push(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    async connectedPair() {
      const before = accepted.length;
      const receiving = net.connect(port, '127.0.0.1');
      await once(receiving, 'connect');
      while (accepted.length === before) await new Promise((resolve) => setImmediate(resolve));
      return { sending: accepted[accepted.length - 1]!, receiving };
    },
    close() {
      for (const socket of accepted) socket.destroy();
      server.close();
    },
  };
}

/** Reads until at least `bytes` arrived. */
export async function readAll(socket: net.Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of socket) {
    chunks.push(chunk as Buffer);
    received += (chunk as Buffer).length;
    if (received >= bytes) break;
  }
  return Buffer.concat(chunks);
}
