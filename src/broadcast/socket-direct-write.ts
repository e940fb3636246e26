// Below Node's public socket API, on purpose and only here: a snapshot written straight to the
// socket's libuv handle, without the Writable machinery socket.write() runs per call.
//
// Why: per delivery, socket.write() builds a WriteWrap request object, walks Writable.write →
// writeOrBuffer → Socket._writeGeneric → writeGeneric → afterWriteDispatched → onwrite, and queues
// an after-write tick; the write(2) itself is the only part a broadcast needs. On tally's HTTP
// sockets that JavaScript also runs megamorphic (the HTTP server gives its sockets several shapes).
// Measured with `bench fanout --peer node-min` (README "Per delivery").
//
// How: `handle.writeBuffer(req, bytes)` is what Node's own writeGeneric() calls. When the kernel
// takes every byte at once (the normal case: one ~1 KB event into an idle socket), the request
// object is not kept by the native side, so one shared request serves every such write. When it
// does not (a full socket buffer), libuv queues the rest and owns that request until its
// `oncomplete(status)` runs: that request is handed off and a fresh one is made. Writes through the
// public API (heartbeats, the goodbye) go through the same libuv queue, so order is kept; while the
// socket's Writable still holds bytes of its own (corked, say), a snapshot goes through it too.
//
// What it depends on (checked by socket-direct-write.test.ts, which fails if Node changes it):
// process.binding('stream_wrap') exposing WriteWrap, streamBaseState and kLastWriteWasAsync; a
// connected net.Socket keeping its TCP handle in `_handle`, whose writeBuffer(req, Uint8Array)
// returns a libuv error code. If any of that is missing at
// start, `directWriteSupport()` says so and the broadcaster falls back to socket.write().
import type { Socket } from 'node:net';

interface WriteRequest {
  oncomplete: ((status: number) => void) | null;
  buffer: Uint8Array | null;
}

interface StreamHandle {
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function loadBinding(): StreamWrapBinding | string {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding;
    if (typeof WriteWrap !== 'function') return 'stream_wrap has no WriteWrap';
    if (!(streamBaseState instanceof Int32Array)) return 'stream_wrap has no streamBaseState';
    if (typeof kLastWriteWasAsync !== 'number') return 'stream_wrap has no kLastWriteWasAsync';
    return { WriteWrap, streamBaseState, kLastWriteWasAsync };
  } catch (error) {
    return `process.binding('stream_wrap') failed: ${(error as Error).message}`;
  }
}

const binding = loadBinding();

/** Undefined when the direct path can be used; otherwise why not (logged once by the broadcaster). */
export function directWriteSupport(): string | undefined {
  return typeof binding === 'string' ? binding : undefined;
}

let sharedRequest: WriteRequest | undefined;

/**
 * One socket's direct writer. `pendingBytes` counts what libuv still queues from direct writes plus
 * what the socket's Writable holds (heartbeats, the goodbye): the slow-client signal.
 */
export class DirectSocketWriter {
  private queuedBytes = 0;

  constructor(protected readonly socket: Socket) {}

  get pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Writes `bytes`; a socket that is closing or failed is destroyed (its close handler cleans up). */
  write(bytes: Uint8Array): void {
    const handle = (this.socket as unknown as { _handle: StreamHandle | null })._handle;
    // Bytes the socket's Writable still holds (corked, or behind its own pending write) have not
    // reached libuv yet: going around them would reorder the stream, so join their queue.
    if (handle === null || typeof binding === 'string' || this.socket.writableLength > 0) {
      if (!this.socket.destroyed) this.socket.write(bytes);
      return;
    }
    const request = (sharedRequest ??= new binding.WriteWrap());
    const error = handle.writeBuffer(request, bytes);
    if (error !== 0) {
      this.socket.destroy();
      return;
    }
    if (binding.streamBaseState[binding.kLastWriteWasAsync] === 0) return;
    // libuv queued (part of) it and owns `request` until oncomplete: hand it off, keep the bytes alive.
    // (Node counts an async write's whole length as queued too: kBytesWritten is the total.)
    sharedRequest = undefined;
    const queued = bytes.byteLength;
    this.queuedBytes += queued;
    request.buffer = bytes;
    request.oncomplete = (status: number) => {
      this.queuedBytes -= queued;
      request.buffer = null;
      if (status < 0) this.socket.destroy();
    };
  }
}
