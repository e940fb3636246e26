#!/usr/bin/env node
// The ingest bench's peer: the framework's floor. A bare Fastify route on the vote path that parses
// the JSON body and answers 202, nothing else, run in the same shape as `tally ingest` (a node:cluster
// of BARE_PROCESSES workers on one port, forked by the same src/role-cluster.ts with the same
// scheduling and V8 flags), so `bench ingest` can put tally's CPU per vote and votes/s beside it.
//
//   BARE_PORT=… BARE_PROCESSES=2 node dist/bench/ingest/bare-server.js
//
// Prints one JSON line `{"msg":"bare listening","port":…}` when every worker listens.
import Fastify from 'fastify';
import { createLogger } from '../../src/logger.js';
import { INGEST_SCHEDULING, INGEST_WORKER_FLAGS } from '../../src/ingest/ingest-cluster.js';
import { isClusterWorker, reportListening, startRoleCluster } from '../../src/role-cluster.js';

const port = Number(process.env.BARE_PORT ?? 0);
const processes = Number(process.env.BARE_PROCESSES ?? 1);
const ROLE = 'bench-bare';

async function listen(): Promise<number> {
  const app = Fastify({ logger: false });
  app.post('/v1/surveys/:id/votes', async (request, reply) => {
    const body = request.body as { answers?: unknown };
    return reply.status(202).send({ accepted: body.answers !== undefined });
  });
  app.get('/readyz', async () => ({ status: 'ready' }));
  await app.listen({ host: '127.0.0.1', port });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

if (isClusterWorker(ROLE)) {
  reportListening(await listen());
} else if (processes <= 1) {
  process.stdout.write(`${JSON.stringify({ msg: 'bare listening', port: await listen(), processes: 1 })}\n`);
} else {
  const cluster = await startRoleCluster({ role: ROLE, processes, logger: createLogger(ROLE, { logLevel: 'warn' }), scheduling: INGEST_SCHEDULING, workerExecArgv: INGEST_WORKER_FLAGS });
  process.stdout.write(`${JSON.stringify({ msg: 'bare listening', port: cluster.port, processes })}\n`);
  process.on('SIGTERM', () => void cluster.close().then(() => process.exit(0)));
}
