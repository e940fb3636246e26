// A minimal SSE client over node:http for tests: parses the event stream as EventSource would
// (id / event / data / retry fields, comment lines) and lets a test wait for a matching event.
import http from 'node:http';

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
  receivedAt: number;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body text when the server refused the stream (status ≠ 200). */
  body: string;
  events: SseEvent[];
  /** Resolves with the first event (already received or future) matching `predicate`. */
  next(predicate: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  closed: Promise<void>;
  close(): void;
}

export function parseSseBlock(block: string, receivedAt: number): SseEvent {
  const event: SseEvent = { comments: [], receivedAt };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      event.comments.push(line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
    else if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else if (field === 'retry') event.retry = Number(value);
  }
  return event;
}

export function openSse(url: string, options: { headers?: Record<string, string>; localAddress?: string } = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Accept: 'text/event-stream', ...options.headers }, localAddress: options.localAddress, agent: false });
    request.on('error', reject);
    request.on('response', (response) => {
      const events: SseEvent[] = [];
      const waiters: Array<{ predicate: (event: SseEvent) => boolean; resolve: (event: SseEvent) => void }> = [];
      let buffer = '';
      let body = '';
      let resolveClosed!: () => void;
      const closed = new Promise<void>((r) => (resolveClosed = r));
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (response.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = parseSseBlock(buffer.slice(0, end), Date.now());
          buffer = buffer.slice(end + 2);
          events.push(event);
          for (let i = waiters.length - 1; i >= 0; i -= 1) {
            if (waiters[i]!.predicate(event)) waiters.splice(i, 1)[0]!.resolve(event);
          }
        }
      });
      response.on('close', resolveClosed);
      response.on('error', () => undefined);
      const stream: SseStream = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        get body() {
          return body;
        },
        events,
        closed,
        next(predicate, timeoutMs = 5000) {
          const found = events.find(predicate);
          if (found) return Promise.resolve(found);
          return new Promise((resolveEvent, rejectEvent) => {
            const timer = setTimeout(() => rejectEvent(new Error(`no matching SSE event within ${timeoutMs} ms (got ${events.length} events)`)), timeoutMs);
            waiters.push({
              predicate,
              resolve: (event) => {
                clearTimeout(timer);
                resolveEvent(event);
              },
            });
          });
        },
        close() {
          request.destroy();
        },
      };
      if (response.statusCode !== 200) response.on('end', () => resolve(stream));
      else resolve(stream);
    });
  });
}

/** The snapshot JSON of an SSE `snapshot` event. */
export function snapshotOf<T = import('../../../src/broadcast/snapshot.js').SurveySnapshot>(event: SseEvent): T {
  return JSON.parse(event.data ?? 'null') as T;
}
