// Integration: PostgreSQL, Redis
// GET /openapi.json (ingest) is generated from the route schemas by @fastify/swagger: every route
// the app serves is in it with its methods, nothing else is, and each documented operation carries
// the schemas the route validates with (parameters, body) and its security requirement.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPool } from '../../src/db/postgres.js';
import { auditRoutes } from '../../src/verify/audit-routes.js';
import { testConfig } from '../support/test-config.js';
import { startHarness, type Harness } from './support/ingest-harness.js';

let h: Harness;
const config = testConfig('openapi');
const auditPool = createPool(config.postgres.url, 1);

before(async () => {
  // As `tally ingest` serves them: the app's routes plus verify's audit routes.
  h = await startHarness('ingest-openapi', { connected: false, plugins: [auditRoutes(auditPool, config)] });
});

after(async () => {
  await h.close();
  await auditPool.end();
});

interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown; security?: unknown[]; responses?: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

/**
 * method + path of every route the app serves, from Fastify's own route table (HEAD is implied by
 * GET). printRoutes draws a tree: each level is indented 4 more and continues its parent's path.
 */
function registeredRoutes(): Set<string> {
  const routes = new Set<string>();
  const prefixes: string[] = [];
  for (const line of h.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([^/]*)(\/\S*)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1]!.length - 4) / 4;
    const path = (depth > 0 ? prefixes[depth - 1]! : '') + match[2]!;
    prefixes[depth] = path;
    for (const method of match[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.add(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
  }
  return routes;
}

test('/openapi.json documents exactly the routes ingest serves', async () => {
  const response = await h.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(response.statusCode, 200);
  const doc = response.json() as OpenApi;
  assert.match(doc.openapi, /^3\./);
  assert.equal(doc.info.title, 'tally ingest API');
  const documented = new Set(Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
  const served = registeredRoutes();
  served.delete('GET /openapi.json'); // the document itself
  assert.deepEqual([...served].filter((r) => !documented.has(r)).sort(), [], 'routes missing from the document');
  assert.deepEqual([...documented].filter((r) => !served.has(r)).sort(), [], 'documented operations no route serves');
  for (const route of ['POST /v1/surveys/{id}/votes', 'POST /v1/internal/surveys', 'GET /v1/surveys/{id}', 'GET /readyz', 'GET /v1/audit/checkpoints']) {
    assert.ok(documented.has(route), route);
  }
});

test('documented operations carry the route schemas and security', async () => {
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApi;
  const votes = doc.paths['/v1/surveys/{id}/votes']!.post!;
  assert.deepEqual(votes.parameters?.filter((p) => p.in === 'path').map((p) => p.name), ['id']);
  assert.ok(votes.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'));
  assert.ok(votes.requestBody, 'the vote body schema');
  assert.ok(votes.responses?.['202'], 'the 202 body schema');
  assert.deepEqual(votes.security, [{ voterToken: [] }]);
  assert.deepEqual(doc.paths['/v1/internal/surveys']!.post!.security, [{ adminToken: [] }]);
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['adminToken', 'voterToken']);
  assert.ok(doc.components.schemas.Error, 'the error body every route answers');
});
