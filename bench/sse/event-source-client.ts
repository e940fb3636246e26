// A standard Server-Sent Events client (the EventSource processing model of the HTML spec: lines
// split on CRLF / LF / CR, fields event / data / id / retry, dispatch on a blank line, reconnect
// with Last-Event-ID after `retry` ms). The swarm's raw reader skips almost everything for speed;
// a few of these read every byte, so the harness also checks what the clients receive.
import http from 'node:http';

export interface ServerSentEvent {
  type: string;
  data: string;
  lastEventId: string;
  receivedAt: number;
}

export interface EventSourceOptions {
  url: string;
  onEvent: (event: ServerSentEvent) => void;
  onError?: (message: string) => void;
  /** reconnects allowed before giving up (bounded: the bench must stop by itself) */
  maxReconnects?: number;
  localAddress?: string;
}

/** Parses an event stream incrementally; `feed` text chunks, events come out through `dispatch`. */
export class EventStreamParser {
  private buffer = '';
  private eventType = '';
  private data: string[] = [];
  private pendingCr = false;
  lastEventId = '';
  retryMs: number | undefined;

  constructor(private readonly dispatch: (event: ServerSentEvent) => void) {}

  feed(text: string): void {
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/g;
      match.lastIndex = start;
      const found = match.exec(this.buffer);
      if (!found) break;
      // A CR at the very end may be the first half of CRLF: treat the line as ended, skip the LF later.
      if (found[0] === '\r' && found.index === this.buffer.length - 1) this.pendingCr = true;
      this.line(this.buffer.slice(start, found.index));
      start = found.index + found[0].length;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        this.dispatch({ type: this.eventType || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId, receivedAt: Date.now() });
      }
      this.data = [];
      this.eventType = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }
}

export class EventSourceClient {
  private request: http.ClientRequest | undefined;
  private closed = false;
  private reconnects = 0;
  readonly parser: EventStreamParser;
  opened = 0;

  constructor(private readonly options: EventSourceOptions) {
    this.parser = new EventStreamParser(options.onEvent);
    this.connect();
  }

  private connect(): void {
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    if (this.parser.lastEventId) headers['last-event-id'] = this.parser.lastEventId;
    const request = http.get(this.options.url, { headers, localAddress: this.options.localAddress, agent: false }, (response) => {
      if (response.statusCode !== 200 || !String(response.headers['content-type']).startsWith('text/event-stream')) {
        this.options.onError?.(`HTTP ${response.statusCode} ${response.headers['content-type']}`);
        response.resume();
        response.on('end', () => this.reconnect());
        return;
      }
      this.opened += 1;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => this.parser.feed(chunk));
      response.on('end', () => this.reconnect());
      response.on('error', () => this.reconnect());
    });
    request.on('error', (error) => {
      this.options.onError?.(error.message);
      this.reconnect();
    });
    this.request = request;
  }

  private reconnect(): void {
    if (this.closed) return;
    if (this.reconnects >= (this.options.maxReconnects ?? 5)) {
      this.options.onError?.('too many reconnects: giving up');
      this.closed = true;
      return;
    }
    this.reconnects += 1;
    setTimeout(() => !this.closed && this.connect(), this.parser.retryMs ?? 1000).unref();
  }

  close(): void {
    this.closed = true;
    this.request?.destroy();
  }
}
