// A minimal-allocation reader of an HTTP/1.1 SSE response from a raw socket, for the client swarm:
// it parses the status line and headers once, removes chunked framing, and for each SSE event
// extracts only the `id:` value (as a 32-bit hash; the text on request) and the number after
// `"generatedAt":` in its data. Everything else is skipped with native Buffer.indexOf, so a client
// costs a few comparisons per event rather than a JSON.parse.
//
// Frames may be split anywhere across socket reads; the state machine carries what it needs.

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const PATTERN = Buffer.from('"generatedAt":');
const MAX_ID_BYTES = 128;

const enum Phase {
  Headers,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Plain,
  Ended,
}

const enum Line {
  Start,
  FieldName,
  IdValue,
  Data,
  GeneratedAtDigits,
  Skip,
}

/** Field names we care about, packed in an int while reading them. */
const FIELD_ID = (0x69 << 8) | 0x64; // "id"
const FIELD_DATA = (((0x64 * 256 + 0x61) * 256 + 0x74) * 256 + 0x61) >>> 0; // "data"

export interface SseEventSink {
  /** One complete event: hash of its id (0 if none), generatedAt (NaN if absent), the parser (for idText()). */
  onEvent(idHash: number, generatedAt: number, parser: SseFrameParser): void;
  /** Status line and headers are in. */
  onHeaders?(status: number, parser: SseFrameParser): void;
  /** The server ended the chunked body (a 0-size chunk). */
  onEnd?(parser: SseFrameParser): void;
}

export class SseFrameParser {
  status = 0;
  chunked = false;
  /** Bytes of body received (after the headers), framing included. */
  bodyBytes = 0;
  events = 0;
  private phase = Phase.Headers;
  private headerText = '';
  private chunkRemaining = 0;
  private line = Line.Start;
  private fieldName = 0;
  private fieldLength = 0;
  private idHash = 0;
  private idLength = 0;
  private readonly idBytes = Buffer.allocUnsafe(MAX_ID_BYTES);
  private idSeen = false;
  private dataSeen = false;
  private patternMatched = 0;
  private generatedAt = Number.NaN;
  private digits = 0;
  private sawDigit = false;
  private chunkSizeDigits = true;

  constructor(private readonly sink: SseEventSink) {}

  /** The id of the last event, as text (allocates: call it only for ids not seen before). */
  idText(): string {
    return this.idBytes.toString('utf8', 0, Math.min(this.idLength, MAX_ID_BYTES));
  }

  get ended(): boolean {
    return this.phase === Phase.Ended;
  }

  feed(buf: Buffer): void {
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      switch (this.phase) {
        case Phase.Headers: {
          const before = this.headerText.length;
          this.headerText += buf.toString('latin1', pos, end);
          const at = this.headerText.indexOf('\r\n\r\n');
          if (at < 0) {
            if (this.headerText.length > 64 * 1024) throw new Error('SSE response headers larger than 64 KiB');
            return;
          }
          pos += at + 4 - before;
          this.parseHeaders(this.headerText.slice(0, at));
          this.headerText = '';
          break;
        }
        case Phase.ChunkSize: {
          const c = buf[pos++]!;
          this.bodyBytes += 1;
          if (c === LF) {
            if (this.chunkRemaining === 0) {
              this.phase = Phase.Ended;
              this.sink.onEnd?.(this);
              return;
            }
            this.phase = Phase.ChunkData;
          } else if (this.chunkSizeDigits) {
            const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
            if (v >= 0) this.chunkRemaining = this.chunkRemaining * 16 + v;
            else this.chunkSizeDigits = false; // ';' extensions or CR: ignore the rest of the line
          }
          break;
        }
        case Phase.ChunkData: {
          const stop = Math.min(end, pos + this.chunkRemaining);
          this.consume(buf, pos, stop);
          this.bodyBytes += stop - pos;
          this.chunkRemaining -= stop - pos;
          pos = stop;
          if (this.chunkRemaining === 0) this.phase = Phase.ChunkEnd;
          break;
        }
        case Phase.ChunkEnd: {
          const c = buf[pos++]!;
          this.bodyBytes += 1;
          if (c === LF) {
            this.phase = Phase.ChunkSize;
            this.chunkRemaining = 0;
            this.chunkSizeDigits = true;
          }
          break;
        }
        case Phase.Plain:
          this.consume(buf, pos, end);
          this.bodyBytes += end - pos;
          pos = end;
          break;
        case Phase.Ended:
          return;
      }
    }
  }

  private parseHeaders(text: string): void {
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    this.status = match ? Number(match[1]) : 0;
    this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(text);
    this.phase = this.chunked ? Phase.ChunkSize : Phase.Plain;
    this.chunkRemaining = 0;
    this.chunkSizeDigits = true;
    this.sink.onHeaders?.(this.status, this);
  }

  /** SSE body bytes buf[pos, end). */
  private consume(buf: Buffer, pos: number, end: number): void {
    while (pos < end) {
      switch (this.line) {
        case Line.Start: {
          const c = buf[pos]!;
          if (c === LF) {
            pos += 1;
            this.dispatch();
          } else if (c === CR) {
            pos += 1;
          } else {
            this.line = Line.FieldName;
            this.fieldName = 0;
            this.fieldLength = 0;
          }
          break;
        }
        case Line.FieldName: {
          const c = buf[pos++]!;
          if (c === COLON || c === LF) {
            if (c === LF) {
              // A field with no value: "data" alone counts as data; nothing else matters here.
              if (this.fieldLength === 4 && this.fieldName === FIELD_DATA) this.dataSeen = true;
              this.line = Line.Start;
            } else if (this.fieldLength === 2 && this.fieldName === FIELD_ID) {
              this.line = Line.IdValue;
              this.idSeen = true;
              this.idHash = 0x811c9dc5;
              this.idLength = 0;
              this.patternMatched = -1; // "skip one leading space" marker for IdValue
            } else if (this.fieldLength === 4 && this.fieldName === FIELD_DATA) {
              this.line = Line.Data;
              this.dataSeen = true;
              this.patternMatched = 0;
            } else {
              this.line = Line.Skip; // comments (empty name), event:, retry:, unknown fields
            }
          } else {
            this.fieldLength += 1;
            if (this.fieldLength <= 4) this.fieldName = ((this.fieldName << 8) | c) >>> 0;
          }
          break;
        }
        case Line.IdValue: {
          const c = buf[pos++]!;
          if (c === LF) {
            this.line = Line.Start;
          } else if (c === SPACE && this.patternMatched === -1) {
            this.patternMatched = 0;
          } else if (c !== CR) {
            this.patternMatched = 0;
            this.idHash = Math.imul(this.idHash ^ c, 0x01000193) >>> 0;
            if (this.idLength < MAX_ID_BYTES) this.idBytes[this.idLength] = c;
            this.idLength += 1;
          }
          break;
        }
        case Line.Data: {
          if (!Number.isNaN(this.generatedAt)) {
            this.line = Line.Skip; // first generatedAt of the event wins
            break;
          }
          let lineEnd = buf.indexOf(LF, pos);
          const lineEnds = lineEnd >= 0 && lineEnd < end;
          if (!lineEnds) lineEnd = end;
          if (this.patternMatched > 0) {
            // Continue a match split across reads.
            while (pos < lineEnd && this.patternMatched < PATTERN.length && buf[pos] === PATTERN[this.patternMatched]) {
              pos += 1;
              this.patternMatched += 1;
            }
            if (this.patternMatched === PATTERN.length) {
              this.startDigits();
              break;
            }
            if (pos < lineEnd) this.patternMatched = 0;
            else if (!lineEnds) return;
          }
          const found = buf.indexOf(PATTERN, pos);
          if (found >= 0 && found + PATTERN.length <= lineEnd) {
            pos = found + PATTERN.length;
            this.startDigits();
            break;
          }
          // Not in this read: remember how much of the pattern the line's tail already matches.
          if (!lineEnds) {
            this.patternMatched = tailMatch(buf, pos, end);
            return;
          }
          pos = lineEnd + 1;
          this.line = Line.Start;
          break;
        }
        case Line.GeneratedAtDigits: {
          const c = buf[pos]!;
          if (c >= 0x30 && c <= 0x39) {
            this.digits = this.digits * 10 + (c - 0x30);
            this.sawDigit = true;
            pos += 1;
          } else if (c === SPACE && !this.sawDigit) {
            pos += 1;
          } else {
            if (this.sawDigit) this.generatedAt = this.digits;
            this.line = c === LF ? Line.Start : Line.Skip;
            if (c === LF) pos += 1;
          }
          break;
        }
        case Line.Skip: {
          const lineEnd = buf.indexOf(LF, pos);
          if (lineEnd < 0 || lineEnd >= end) return;
          pos = lineEnd + 1;
          this.line = Line.Start;
          break;
        }
      }
    }
  }

  private startDigits(): void {
    this.line = Line.GeneratedAtDigits;
    this.digits = 0;
    this.sawDigit = false;
    this.patternMatched = 0;
  }

  private dispatch(): void {
    if (this.idSeen || this.dataSeen) {
      this.events += 1;
      this.sink.onEvent(this.idSeen ? this.idHash : 0, this.generatedAt, this);
    }
    this.idSeen = false;
    this.dataSeen = false;
    this.generatedAt = Number.NaN;
  }
}

/** How many bytes of PATTERN the end of buf[pos, end) matches (the longest suffix that is a prefix). */
function tailMatch(buf: Buffer, pos: number, end: number): number {
  for (let n = Math.min(PATTERN.length - 1, end - pos); n > 0; n--) {
    let ok = true;
    for (let i = 0; i < n; i++) {
      if (buf[end - n + i] !== PATTERN[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return n;
  }
  return 0;
}
