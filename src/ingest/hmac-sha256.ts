// HMAC-SHA256 (RFC 2104) for the vote path's two HMACs per new voter (the token signature and the
// voter pseudonym), as two one-shot hashes over prebuilt padded keys: H((K ^ opad) || H((K ^ ipad) || m)).
// createHmac builds a Hmac object and initialises OpenSSL's HMAC context on every call; under the
// bench's load its constructor alone was 4 % of an ingest worker's CPU. crypto.hash (Node 20.12+)
// hashes a buffer in one native call; the ipad block and the message share one reused buffer. On an
// older Node the same function falls back to createHmac. test/ingest/hmac-sha256.test.ts compares
// both with createHmac.
import crypto, { createHash, createHmac } from 'node:crypto';

const SHA256 = 'sha256';
const BLOCK = 64;
const DIGEST = 32;

type OneShotHash = (algorithm: string, data: Buffer, outputEncoding: 'buffer' | 'hex') => Buffer | string;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

export interface HmacSha256 {
  digest(message: string): Buffer;
  hex(message: string): string;
}

export function hmacSha256(secret: string): HmacSha256 {
  if (oneShot === undefined) {
    const key = crypto.createSecretKey(Buffer.from(secret, 'utf8'));
    return { digest: (m) => createHmac('sha256', key).update(m).digest(), hex: (m) => createHmac('sha256', key).update(m).digest('hex') };
  }
  let key: Buffer = Buffer.from(secret, 'utf8');
  if (key.length > BLOCK) key = createHash('sha256').update(key).digest();
  let inner = Buffer.alloc(BLOCK + 256); // K ^ ipad, then the message
  const outer = Buffer.alloc(BLOCK + DIGEST); // K ^ opad, then the inner digest
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  const innerDigest = (message: string): void => {
    if (inner.length < BLOCK + message.length * 3) {
      const grown = Buffer.alloc(BLOCK + message.length * 3); // UTF-8: at most 3 bytes per UTF-16 unit
      inner.copy(grown, 0, 0, BLOCK);
      inner = grown;
    }
    const length = inner.write(message, BLOCK, 'utf8');
    (oneShot(SHA256, inner.subarray(0, BLOCK + length), 'buffer') as Buffer).copy(outer, BLOCK);
  };
  return {
    digest(message) {
      innerDigest(message);
      return oneShot(SHA256, outer, 'buffer') as Buffer;
    },
    hex(message) {
      innerDigest(message);
      return oneShot(SHA256, outer, 'hex') as string;
    },
  };
}
