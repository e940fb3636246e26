// GET /receipt: the page where a voter pastes a vote receipt and checks its Merkle proof in the
// browser (WebCrypto). The broadcaster also serves what the page fetches, same origin:
// GET /v1/receipts/:partition/:offset and GET /v1/audit/checkpoints (the verify role's public
// plugins, as ingest serves them). Files in src/broadcast/receipt/ (no build step), read once.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { TallyConfig } from '../config.js';
import type { Pool } from '../db/postgres.js';
import { createKafka } from '../kafka.js';
import type { Logger } from '../logger.js';
import { auditRoutes } from '../verify/audit-routes.js';
import { ReceiptProofs } from '../verify/receipt-proofs.js';
import { receiptRoutes } from '../verify/receipt-routes.js';

const ASSETS: Record<string, string> = {
  'receipt.js': 'text/javascript; charset=utf-8',
  'receipt.css': 'text/css; charset=utf-8',
};

const CONTENT_SECURITY_POLICY = "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'";

function receiptDirectory(): string {
  const candidates = [new URL('./receipt/', import.meta.url), new URL('../../../src/broadcast/receipt/', import.meta.url)].map((url) => fileURLToPath(url));
  const found = candidates.find((dir) => existsSync(`${dir}index.html`));
  if (!found) throw new Error(`receipt page files not found in ${candidates.join(' or ')}`);
  return found;
}

export async function registerReceiptRoute(app: FastifyInstance, config: TallyConfig, pool: Pool, logger: Logger): Promise<void> {
  const dir = receiptDirectory();
  const page = readFileSync(`${dir}index.html`);
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(`${dir}${name}`)]));

  app.get('/receipt', async (_request, reply) => {
    reply.header('Content-Type', 'text/html; charset=utf-8');
    reply.header('Cache-Control', 'no-cache');
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    return page;
  });
  app.get<{ Params: { name: string } }>('/receipt/assets/:name', async (request, reply) => {
    const body = assets.get(request.params.name);
    if (!body) return reply.callNotFound();
    reply.header('Content-Type', ASSETS[request.params.name]!);
    reply.header('Cache-Control', 'no-cache');
    return body;
  });
  await app.register(auditRoutes(pool, config));
  await app.register(receiptRoutes(new ReceiptProofs(pool, createKafka(config, 'broadcast-receipts', logger), config.kafka.votesTopic, logger)));
}
