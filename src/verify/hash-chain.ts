// The per-partition hash chain of docs/counting-rules.md, re-implemented here on purpose: the
// verifier must not share the aggregator's code path, only the definition.
//
//   h(-1) = 32 zero bytes
//   h(n)  = SHA-256( h(n-1) || offset as 8-byte big-endian int64 || record value bytes )
import { createHash } from 'node:crypto';

export const CHAIN_GENESIS: Buffer = Buffer.alloc(32);

// One scratch buffer for the offset bytes: the chain advances once per record, so no allocation here.
const offsetBytes = Buffer.alloc(8);

/** The next chain head. `offset` is a non-negative integer below 2^53 (any real log). */
export function chainStep(previous: Buffer, offset: number, value: Buffer | null): Buffer {
  offsetBytes.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), 0);
  offsetBytes.writeUInt32BE(offset >>> 0, 4);
  const hash = createHash('sha256').update(previous).update(offsetBytes);
  if (value !== null) hash.update(value);
  return hash.digest();
}
