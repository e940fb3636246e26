// A deliberately naive reference for the hash chain, written straight from
// docs/counting-rules.md (BigInt, Buffer.concat): the tests hold the real code against it.
import { createHash } from 'node:crypto';

/** Chain heads h(0..n-1), lowercase hex, over records at the given offsets. */
export function referenceChainHeads(records: { offset: number | bigint; value: Buffer | null }[]): string[] {
  let head: Buffer = Buffer.alloc(32);
  return records.map(({ offset, value }) => {
    const offsetBytes = Buffer.alloc(8);
    offsetBytes.writeBigInt64BE(BigInt(offset));
    head = createHash('sha256').update(Buffer.concat([head, offsetBytes, value ?? Buffer.alloc(0)])).digest();
    return head.toString('hex');
  });
}
