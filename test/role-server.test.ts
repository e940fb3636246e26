// The HTTP surface every role shares (src/role-server.ts), over a real socket: every refusal the
// framework or Node's HTTP parser makes before a route runs answers in the project's format
// ({ code, message } with the catalogue's status), and so do bodies that are not UTF-8 JSON of the
// right media type. The roles' own servers are checked in test/operations/framework-errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { errorCatalogue } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { createRoleServer } from '../src/role-server.js';
import { frameworkRefusals, rawRequest } from './support/raw-http.js';

let app: FastifyInstance;
let port: number;

before(async () => {
  app = createRoleServer({ logger: createLogger('test', { logLevel: 'silent' }), metrics: new Registry(), readiness: {} });
  app.get('/v1/surveys/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  app.post('/v1/echo', async (request) => request.body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});

after(async () => {
  await app.close();
});

const refusals = [
  ...frameworkRefusals((param) => `/v1/surveys/${param}`),
  { name: 'unsupported media type', request: 'POST /v1/echo HTTP/1.1\r\nhost: t\r\ncontent-type: text/xml\r\ncontent-length: 2\r\n\r\n<a', status: 415, code: 'TALLY_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'invalid JSON', request: 'POST /v1/echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{x', status: 400, code: 'TALLY_ERR_BAD_JSON' },
  { name: 'empty JSON body', request: 'POST /v1/echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_JSON' },
  { name: '__proto__ in JSON', request: 'POST /v1/echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 24\r\n\r\n{"__proto__":{"x":true}}', status: 400, code: 'TALLY_ERR_BAD_JSON' },
];

for (const refusal of refusals) {
  test(`${refusal.name}: ${refusal.status} ${refusal.code} in the project's format`, async () => {
    const answer = await rawRequest(port, refusal.request);
    assert.equal(answer.status, refusal.status, answer.body);
    const body = JSON.parse(answer.body) as { code: keyof typeof errorCatalogue; message: string };
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
    assert.equal(body.code, refusal.code);
    assert.equal(errorCatalogue[body.code].status, refusal.status);
    assert.match(answer.headers, /content-type: application\/json/i);
  });
}

test('a JSON body that is not valid UTF-8 is 400 TALLY_ERR_BAD_JSON', async () => {
  const body = Buffer.concat([Buffer.from('{"t":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
  const answer = await rawRequest(port, Buffer.concat([Buffer.from(`POST /v1/echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
  assert.equal(answer.status, 400, answer.body);
  assert.equal(JSON.parse(answer.body).code, 'TALLY_ERR_BAD_JSON');
});

test('well-formed requests still work: JSON with characters outside the BMP, percent-encoded UTF-8', async () => {
  const body = Buffer.from(JSON.stringify({ t: 'snow ☃ and 🍩' }));
  const echo = await rawRequest(port, Buffer.concat([Buffer.from(`POST /v1/echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
  assert.equal(echo.status, 200, echo.body);
  assert.deepEqual(JSON.parse(echo.body), { t: 'snow ☃ and 🍩' });
  const param = await rawRequest(port, 'GET /v1/surveys/%E2%98%83 HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n');
  assert.equal(param.status, 200);
  assert.deepEqual(JSON.parse(param.body), { id: '☃' });
});
