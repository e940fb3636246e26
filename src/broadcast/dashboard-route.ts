// The built-in dashboard: GET /dashboard/:surveyId serves a plain HTML page whose script opens an
// EventSource on the survey's stream. The files live in src/broadcast/dashboard/ (no build step)
// and are read once at start-up; the compiled module finds them beside itself or in the sources.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { TallyError } from '../errors.js';
import { canonicalSurveyId, SURVEY_ID_PATTERN } from './survey-metadata.js';

const ASSETS: Record<string, string> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

// Option images may come from anywhere; scripts, styles and connections only from this server.
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src * data:; style-src 'self'; script-src 'self'; connect-src 'self'";

function dashboardDirectory(): string {
  const candidates = [
    new URL('./dashboard/', import.meta.url), // running from src (or assets copied next to dist)
    new URL('../../../src/broadcast/dashboard/', import.meta.url), // running from dist/src/broadcast
  ].map((url) => fileURLToPath(url));
  const found = candidates.find((dir) => existsSync(`${dir}index.html`));
  if (!found) throw new Error(`dashboard files not found in ${candidates.join(' or ')}`);
  return found;
}

export function registerDashboardRoute(app: FastifyInstance): void {
  const dir = dashboardDirectory();
  const page = readFileSync(`${dir}index.html`);
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(`${dir}${name}`)]));

  app.get<{ Params: { surveyId: string } }>(
    '/dashboard/:surveyId',
    { schema: { params: { type: 'object', properties: { surveyId: { type: 'string', pattern: SURVEY_ID_PATTERN } } } } },
    async (request, reply) => {
      // One address per survey: `/dashboard/0001` redirects to `/dashboard/1`; `/dashboard/0` names none.
      const { surveyId } = request.params;
      const canonical = canonicalSurveyId(surveyId);
      if (canonical === undefined) throw new TallyError('TALLY_ERR_SURVEY_NOT_FOUND', `survey ${surveyId}`);
      if (canonical !== surveyId) return reply.redirect(`/dashboard/${canonical}`, 301);
      reply.header('Content-Type', 'text/html; charset=utf-8');
      reply.header('Cache-Control', 'no-cache');
      reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      return page;
    },
  );

  app.get<{ Params: { name: string } }>('/dashboard/assets/:name', async (request, reply) => {
    const body = assets.get(request.params.name);
    if (!body) return reply.callNotFound();
    reply.header('Content-Type', ASSETS[request.params.name]!);
    reply.header('Cache-Control', 'no-cache');
    return body;
  });
}
