// A TCP proxy a test controls, to make a shared service look hung or gone to one client only,
// without touching the service itself (other tests and other people use the same broker).
//
//   freeze()  bytes stop flowing both ways, connections stay open: what a hung (SIGSTOPped)
//             server looks like; requests time out
//   cut()     every connection is closed and new ones are refused: a stopped server
//   restore() forwarding resumes (bytes held by freeze() are delivered)
//   loseReplyAfter(marker)
//             the next time a client sends bytes containing `marker`, the service's answer on that
//             connection is dropped and the connection cut: the service acted, its reply was lost
//             (the client reconnects and, like ioredis, may re-send what was not answered)
import net from 'node:net';

export type ProxyState = 'forwarding' | 'frozen' | 'cut';

export interface TcpProxy {
  /** The port on 127.0.0.1 clients connect to. */
  readonly port: number;
  readonly state: ProxyState;
  /** Connections opened through the proxy so far (to check the client really uses it). */
  readonly connections: number;
  freeze(): void;
  cut(): void;
  restore(): void;
  /** Arms the lost-reply fault (one shot); resolves once a reply was dropped. */
  loseReplyAfter(marker: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let state: ProxyState = 'forwarding';
  let connections = 0;
  let lostReply: { marker: Buffer; dropped: () => void } | null = null;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  /** Forwards `from` → `to` with back-pressure, never while frozen; `onChunk` may take a chunk over. */
  const forward = (from: net.Socket, to: net.Socket, onChunk?: (chunk: Buffer) => boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (onChunk?.(chunk)) return;
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (state === 'forwarding') from.resume();
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => to.destroy());
  };

  const server = net.createServer((client) => {
    if (state === 'cut') {
      client.destroy();
      return;
    }
    connections += 1;
    const upstream = net.connect(target);
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    // The lost-reply fault: armed by a request chunk holding the marker, fired by the next answer.
    let dropNextReply: (() => void) | null = null;
    forward(client, upstream, (chunk) => {
      if (lostReply !== null && chunk.includes(lostReply.marker)) {
        dropNextReply = lostReply.dropped;
        lostReply = null;
      }
      return false;
    });
    forward(upstream, client, () => {
      if (dropNextReply === null) return false;
      client.destroy();
      upstream.destroy();
      dropNextReply();
      return true;
    });
    if (state === 'frozen') {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const destroyAll = () => {
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  return {
    port,
    get state() {
      return state;
    },
    get connections() {
      return connections;
    },
    freeze() {
      state = 'frozen';
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    cut() {
      state = 'cut';
      destroyAll();
    },
    restore() {
      state = 'forwarding';
      for (const { client, upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    loseReplyAfter(marker: string) {
      return new Promise<void>((dropped) => (lostReply = { marker: Buffer.from(marker), dropped }));
    },
    async close() {
      destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
