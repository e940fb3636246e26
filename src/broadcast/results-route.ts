// GET /v1/surveys/:id/results: the latest snapshot as JSON (the same content the stream carries),
// optionally filtered (?region=EU&question=1,2&option=5) or exported as CSV (?format=csv).
import type { FastifyInstance } from 'fastify';
import { filterResults } from './results-filter.js';
import { resultsCsv } from './results-csv.js';
import type { ResultsBoard } from './results-board.js';
import { surveyParamsSchema } from './stream-route.js';

interface ResultsQuery {
  region?: string;
  question?: string[];
  option?: string[];
  format?: 'json' | 'csv';
}

const idList = { type: 'array', items: { type: 'string', pattern: '^[0-9]{1,18}(,[0-9]{1,18})*$' }, maxItems: 100 } as const;

const querySchema = {
  type: 'object',
  properties: {
    region: { type: 'string', minLength: 1, maxLength: 64 },
    question: idList,
    option: idList,
    format: { type: 'string', enum: ['json', 'csv'] },
  },
} as const;

const ids = (values: string[] | undefined): string[] | undefined => values?.flatMap((value) => value.split(','));

export function registerResultsRoute(app: FastifyInstance, board: ResultsBoard): void {
  app.get<{ Params: { id: string }; Querystring: ResultsQuery }>(
    '/v1/surveys/:id/results',
    { schema: { params: surveyParamsSchema, querystring: querySchema } },
    async (request, reply) => {
      const surveyId = request.params.id;
      const latest = await board.open(surveyId);
      const { region, format } = request.query;
      const questionIds = ids(request.query.question);
      const optionIds = ids(request.query.option);
      reply.header('Cache-Control', 'no-cache');
      reply.header('ETag', `W/"${latest.snapshot.snapshotId}"`);
      const filter = { ...(region !== undefined && { region }), ...(questionIds && { questionIds }), ...(optionIds && { optionIds }) };
      if (format === 'csv') {
        reply.header('Content-Type', 'text/csv; charset=utf-8');
        reply.header('Content-Disposition', `attachment; filename="survey-${surveyId}-results.csv"`);
        return resultsCsv(filterResults(latest.snapshot, filter));
      }
      reply.header('Content-Type', 'application/json; charset=utf-8');
      // Unfiltered JSON is the very text the stream sent: serialized once per window, not per request.
      if (Object.keys(filter).length === 0) return latest.json;
      return JSON.stringify(filterResults(latest.snapshot, filter));
    },
  );
}
