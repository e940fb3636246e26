// A TCP proxy in front of a real service (Redis here) that can lose one reply: after a client sends
// a chunk containing `marker`, the next bytes the service answers on that connection are dropped
// and the client's connection is cut, as when a network path fails after the server acted. The
// client (ioredis) then reconnects through the proxy and re-sends what was not answered.
import net from 'node:net';

export class FaultProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private marker: Buffer | null = null;
  private fired: (() => void) | null = null;
  /** Connections the proxy has accepted so far. */
  connections = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.pair(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Arms the fault; resolves once a reply was dropped. */
  loseReplyAfter(marker: string): Promise<void> {
    this.marker = Buffer.from(marker);
    return new Promise((resolve) => (this.fired = resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pair(client: net.Socket): void {
    this.connections += 1;
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(client).add(upstream);
    let dropNextReply = false;
    client.on('data', (chunk: Buffer) => {
      if (this.marker !== null && chunk.includes(this.marker)) {
        this.marker = null;
        dropNextReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!dropNextReply) {
        client.write(chunk);
        return;
      }
      // The service acted and answered; the answer is lost with the connection.
      client.destroy();
      upstream.destroy();
      const fired = this.fired;
      this.fired = null;
      fired?.();
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }
}
