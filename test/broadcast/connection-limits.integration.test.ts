// Integration: PostgreSQL, Redis
// The per-IP and per-process caps on open streams refuse with a status, a code and
// Retry-After, and free their slot when a stream closes. Clients come from several 127.0.0.x addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait.js';
import { broadcastFixture } from './support/broadcast-fixture.js';
import type { SseStream } from './support/sse-client.js';

const fx = broadcastFixture('broadcast-limits', { TALLY_SSE_MAX_PER_IP: '2', TALLY_SSE_MAX_CONNECTIONS: '3' });

before(() => fx.setUp('Limits test', [{ title: 'Pick one', options: ['A', 'B'] }]));
after(() => fx.tearDown());

const connect = (localAddress: string): Promise<SseStream> => fx.openStream({ localAddress });

test('the per-IP cap refuses with 429 TALLY_ERR_SSE_PER_IP and Retry-After', async () => {
  assert.equal((await connect('127.0.0.1')).status, 200);
  assert.equal((await connect('127.0.0.1')).status, 200);
  const refused = await connect('127.0.0.1');
  assert.equal(refused.status, 429);
  assert.equal(JSON.parse(refused.body).code, 'TALLY_ERR_SSE_PER_IP');
  assert.ok(Number(refused.headers['retry-after']) > 0);
});

test('the per-process cap refuses with 503 TALLY_ERR_SSE_CAPACITY and Retry-After; a closed stream frees its slot', async () => {
  assert.equal((await connect('127.0.0.2')).status, 200, 'another address still has room');
  const refused = await connect('127.0.0.3');
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.body).code, 'TALLY_ERR_SSE_CAPACITY');
  assert.ok(Number(refused.headers['retry-after']) > 0);

  const first = fx.streams[0]!;
  first.close();
  await first.closed;
  // The server frees the slot when it sees the close, a moment after the client's.
  await waitFor(() => fx.server.hub.size === 2, { timeoutMs: 10_000, what: 'the server to release the closed stream (2 left in the hub)' });
  assert.equal((await connect('127.0.0.3')).status, 200);

  const text = await fx.server.metrics.metrics();
  assert.match(text, /^tally_sse_connections_refused_total\{reason="per_ip"[^}]*\} 1$/m);
  assert.match(text, /^tally_sse_connections_refused_total\{reason="capacity"[^}]*\} 1$/m);
  assert.match(text, /^tally_sse_clients\{[^}]*\} 3$/m);
});
