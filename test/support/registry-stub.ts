// A schema registry on a local port for unit tests of the 404 grace: `GET /schemas/ids/<id>`
// answers 404 while `missing(id)` says so (counting the requests), then the vote schema.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { voteSchemaJson } from '../../src/vote-codec.js';

export interface RegistryStub {
  url: string;
  /** GET requests per schema id. */
  requests: Map<number, number>;
  close(): Promise<void>;
}

export async function startRegistryStub(missing: (id: number, request: number) => boolean): Promise<RegistryStub> {
  const requests = new Map<number, number>();
  const server: Server = createServer((req, res) => {
    const match = /\/schemas\/ids\/(\d+)/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(400).end();
      return;
    }
    const id = Number(match[1]);
    const n = (requests.get(id) ?? 0) + 1;
    requests.set(id, n);
    if (missing(id, n)) {
      res.writeHead(404, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ schema: voteSchemaJson }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
