// `tally ingest`: the HTTP API that defines surveys and turns votes into records of the votes topic.
import type { TallyConfig } from '../config.js';
import { createLogger } from '../logger.js';
import type { RunningRole } from '../role.js';
import { buildIngestApp } from './ingest-app.js';
import { closeIngestDeps, openIngestDeps } from './ingest-deps.js';

export async function start(config: TallyConfig): Promise<RunningRole> {
  const logger = createLogger('ingest', config);
  const deps = openIngestDeps(config, { logger });
  const { app } = await buildIngestApp(deps);
  try {
    await app.listen({ host: config.host, port: config.ports.ingest });
  } catch (error) {
    await closeIngestDeps(deps);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.ports.ingest;
  let closing: Promise<void> | null = null;
  return {
    addresses: [`http://${config.host}:${port}`],
    close: () =>
      (closing ??= (async () => {
        await app.close(); // stops accepting, lets in-flight requests get their acks
        await closeIngestDeps(deps);
      })()),
  };
}
