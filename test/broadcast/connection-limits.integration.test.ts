// Integration: PostgreSQL, Redis
// The per-IP and per-process caps on open streams refuse with a status, a code and
// Retry-After, and free their slot when a stream closes. Clients come from several 127.0.0.x
// addresses. Each test has its own server (2 per IP, 3 per process).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait.js';
import { broadcastFixture, type BroadcastFixture } from './support/broadcast-fixture.js';

async function limitedServer(t: TestContext): Promise<BroadcastFixture> {
  const fx = broadcastFixture('broadcast-limits', { TALLY_SSE_MAX_PER_IP: '2', TALLY_SSE_MAX_CONNECTIONS: '3' });
  t.after(() => fx.tearDown());
  await fx.setUp('Limits test', [{ title: 'Pick one', options: ['A', 'B'] }]);
  return fx;
}

test('the per-IP cap refuses with 429 TALLY_ERR_SSE_PER_IP and Retry-After', async (t) => {
  const fx = await limitedServer(t);
  const connect = (localAddress: string) => fx.openStream({ localAddress });
  assert.equal((await connect('127.0.0.1')).status, 200);
  assert.equal((await connect('127.0.0.1')).status, 200);
  const refused = await connect('127.0.0.1');
  assert.equal(refused.status, 429);
  assert.equal(JSON.parse(refused.body).code, 'TALLY_ERR_SSE_PER_IP');
  assert.ok(Number(refused.headers['retry-after']) > 0);
  assert.equal((await connect('127.0.0.2')).status, 200, 'another address still has room');
  assert.match(await fx.server.metrics.metrics(), /^tally_sse_connections_refused_total\{reason="per_ip"[^}]*\} 1$/m);
});

test('the per-process cap refuses with 503 TALLY_ERR_SSE_CAPACITY and Retry-After; a closed stream frees its slot', async (t) => {
  const fx = await limitedServer(t);
  const connect = (localAddress: string) => fx.openStream({ localAddress });
  for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) assert.equal((await connect(address)).status, 200);
  const refused = await connect('127.0.0.4');
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.body).code, 'TALLY_ERR_SSE_CAPACITY');
  assert.ok(Number(refused.headers['retry-after']) > 0);

  const first = fx.streams[0]!;
  first.close();
  await first.closed;
  // The server frees the slot when it sees the close, a moment after the client's.
  await waitFor(() => fx.server.hub.size === 2, { timeoutMs: 10_000, what: 'the server to release the closed stream (2 left in the hub)' });
  assert.equal((await connect('127.0.0.4')).status, 200);

  const text = await fx.server.metrics.metrics();
  assert.match(text, /^tally_sse_connections_refused_total\{reason="capacity"[^}]*\} 1$/m);
  assert.match(text, /^tally_sse_clients\{[^}]*\} 3$/m);
});
