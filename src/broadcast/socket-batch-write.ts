// One snapshot, many sockets, one call into C (native/socket-batch-write.c): the fan-out loop
// below Node entirely for the common case, a socket whose kernel buffer has room. The loop in
// Hub.broadcast only collects file descriptors; the addon send(2)s the same bytes to each and
// reports the few sockets that did not take every byte, which then go through the per-socket
// direct path (socket-direct-write.ts), so libuv queues their remainder in order.
//
// Why: a delivery through handle.writeBuffer() still costs a JavaScript → C++ call, a request
// object check and libuv's try-write per socket. Measured paired on HTTP sockets
// (bench/probes/write-path-probe.ts): see src/broadcast/README.md, "Per delivery".
//
// What keeps it safe, owned by BatchSocketWriter.batchFd: a socket joins a batch only while its
// libuv handle is open (net.Socket sets `_handle = null` in the same synchronous call that closes
// the fd, and the batch is written before any other JavaScript runs, so an fd in a batch cannot
// have been closed and reused) and while nothing of its own is queued (libuv queue and Writable
// both empty, else these bytes would overtake them). Covered by socket-batch-write.test.ts.
import { constants } from 'node:os';
import { createRequire } from 'node:module';
import { DirectSocketWriter } from './socket-direct-write.js';

interface BatchWriteAddon {
  writeAll(fds: Int32Array, count: number, bytes: Uint8Array, exceptions: Int32Array): number;
}

/** The built addon, relative to this file in dist/src/broadcast/ (scripts/build-native.mjs). */
const ADDON_PATH = '../../native/socket-batch-write.node';

function loadAddon(): BatchWriteAddon | string {
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as Partial<BatchWriteAddon>;
    return typeof addon.writeAll === 'function' ? (addon as BatchWriteAddon) : 'the addon has no writeAll';
  } catch (error) {
    return `${ADDON_PATH} not loaded (${(error as Error).message.split('\n')[0]}): run npm run build`;
  }
}

const addon = loadAddon();

/** Undefined when batch writes can be used; otherwise why not (logged once by the broadcaster). */
export function batchWriteSupport(): string | undefined {
  return typeof addon === 'string' ? addon : undefined;
}

interface TcpHandle {
  readonly fd: number;
}

/** A direct writer that can also hand its socket's fd to a SocketBatch. */
export class BatchSocketWriter extends DirectSocketWriter {
  private handle: TcpHandle | null = null;
  private fd = -1;

  /** The fd a batch may send to right now, or -1 (handle closed, or bytes of its own still queued). */
  get batchFd(): number {
    const handle = (this.socket as unknown as { _handle: TcpHandle | null })._handle;
    if (handle === null || this.pendingBytes !== 0) return -1;
    if (handle !== this.handle) {
      this.handle = handle;
      // Only a plain TCP handle has its own fd (a TLS wrap, say, has none: it must never be batched).
      const fd: unknown = handle.fd;
      this.fd = typeof fd === 'number' && fd > 2 ? fd : -1;
    }
    return this.fd;
  }

  /** What the batch could not do: `outcome` is the bytes the kernel took, or -errno. */
  finishBatchWrite(bytes: Uint8Array, outcome: number): void {
    if (outcome >= 0) this.write(outcome === 0 ? bytes : bytes.subarray(outcome));
    else if (outcome === -constants.errno.EAGAIN) this.write(bytes);
    else this.socket.destroy(); // EPIPE, ECONNRESET…: its close handler cleans up
  }
}

/** Sockets collected during one broadcast, then written in one call. Reused across broadcasts. */
export class SocketBatch<Owner extends { finishBatchWrite(bytes: Uint8Array, outcome: number): void }> {
  private fds = new Int32Array(1024);
  private exceptions = new Int32Array(2048);
  private owners: Owner[] = [];
  private count = 0;

  add(fd: number, owner: Owner): void {
    if (this.count === this.fds.length) this.grow();
    this.fds[this.count] = fd;
    this.owners[this.count] = owner;
    this.count += 1;
  }

  /** Sends `bytes` to every collected socket; the ones that did not take it all finish on their own. */
  flush(bytes: Uint8Array): void {
    const count = this.count;
    if (count === 0) return;
    this.count = 0;
    if (typeof addon === 'string') throw new Error(`batch write without the addon: ${addon}`);
    const exceptional = addon.writeAll(this.fds, count, bytes, this.exceptions);
    for (let k = 0; k < exceptional; k += 1) {
      this.owners[this.exceptions[2 * k]!]!.finishBatchWrite(bytes, this.exceptions[2 * k + 1]!);
    }
    // Drop the references so a closed client's objects are not kept alive until the next broadcast.
    this.owners.fill(undefined as unknown as Owner, 0, count);
  }

  /**
   * Forgets what was collected without writing (after a broadcast that threw half-way): an fd kept
   * until the next broadcast could by then belong to another connection.
   */
  discard(): void {
    this.owners.fill(undefined as unknown as Owner, 0, this.count);
    this.count = 0;
  }

  private grow(): void {
    const fds = new Int32Array(this.fds.length * 2);
    fds.set(this.fds);
    this.fds = fds;
    this.exceptions = new Int32Array(fds.length * 2);
  }
}
