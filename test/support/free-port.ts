// A TCP port that was free a moment ago on 127.0.0.1, for a child process or server that needs
// its port before it starts (Prometheus config, a private redis-server).
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
