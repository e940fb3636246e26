// Raw HTTP/1.1 over a socket, for requests no HTTP client will send (malformed request lines, bad
// percent-encoding, oversized headers): returns the status and the parsed JSON body.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

export function rawRequest(port: number, text: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    /** The answer once complete (Content-Length bytes after the headers), or on close. */
    const settle = (closed: boolean) => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed && !settled) reject(new Error(`no HTTP answer: ${JSON.stringify(received.toString('utf8'))}`));
        return;
      }
      const headers = received.subarray(0, end).toString('utf8');
      const length = /content-length: *(\d+)/i.exec(headers);
      const body = received.subarray(end + 4);
      if (!closed && (length === null || body.length < Number(length[1]))) return;
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ status: Number(headers.slice(9, 12)), headers, body: body.toString('utf8') });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      settle(false);
    });
    socket.on('error', (error) => (settled ? undefined : reject(error)));
    socket.on('close', () => settle(true));
    socket.write(text);
  });
}

/**
 * Requests every role must refuse in the project's error format, with the code expected. `path` is
 * a route of the role that takes a path parameter (checked for the too-long parameter).
 */
export function frameworkRefusals(path: (param: string) => string): { name: string; request: string; status: number; code: string }[] {
  return [
    { name: 'bad percent-encoding in the path', request: `GET ${path('%zz')} HTTP/1.1\r\nhost: t\r\n\r\n`, status: 400, code: 'TALLY_ERR_BAD_URL' },
    { name: 'percent-encoded lone surrogate in the path', request: `GET ${path('%ED%A0%80')} HTTP/1.1\r\nhost: t\r\n\r\n`, status: 400, code: 'TALLY_ERR_BAD_URL' },
    { name: 'path parameter over 100 characters', request: `GET ${path('1'.repeat(101))} HTTP/1.1\r\nhost: t\r\n\r\n`, status: 414, code: 'TALLY_ERR_PATH_TOO_LONG' },
    { name: 'oversized header', request: `GET /healthz HTTP/1.1\r\nhost: t\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'TALLY_ERR_HEADERS_TOO_LARGE' },
    { name: 'oversized query', request: `GET /healthz?q=${'a'.repeat(20_000)} HTTP/1.1\r\nhost: t\r\n\r\n`, status: 431, code: 'TALLY_ERR_HEADERS_TOO_LARGE' },
    { name: 'NUL in a header value', request: 'GET /healthz HTTP/1.1\r\nhost: t\r\nx-note: a\u0000b\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'space in a header name', request: 'GET /healthz HTTP/1.1\r\nhost: t\r\nx note: a\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'malformed request line', request: 'GARBAGE\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'unknown HTTP version', request: 'GET /healthz HTTP/9.9\r\nhost: t\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'invalid Content-Length', request: 'POST /healthz HTTP/1.1\r\nhost: t\r\ncontent-length: abc\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'two Content-Length headers', request: 'POST /healthz HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'bad chunk size', request: 'POST /healthz HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'HTTP/1.1 without Host', request: 'GET /healthz HTTP/1.1\r\n\r\n', status: 400, code: 'TALLY_ERR_BAD_REQUEST' },
    { name: 'unknown route', request: 'GET /no/such/route HTTP/1.1\r\nhost: t\r\n\r\n', status: 404, code: 'TALLY_ERR_NOT_FOUND' },
  ];
}
