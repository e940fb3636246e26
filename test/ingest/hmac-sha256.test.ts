// Unit: the vote path's HMAC-SHA256 (two one-shot hashes over prebuilt padded keys) gives exactly
// createHmac's bytes, for keys shorter than, equal to and longer than the block, for empty, ASCII,
// multi-byte and lone-surrogate messages, and for messages that outgrow its reused buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { hmacSha256 } from '../../src/ingest/hmac-sha256.js';

const secrets = ['', 'k', 'a-secret-of-sixteen-chars', 'x'.repeat(64), 'y'.repeat(65), 'zé'.repeat(80)];
const messages = ['', 'alice', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2b3Rlci00MiJ9', 'vötér-ñ-漢字-🗳️', 'lone \ud800 surrogate', 'a'.repeat(85), 'b'.repeat(86), 'c'.repeat(5000), 'é'.repeat(700)];

test('digest and hex equal createHmac for every key and message, in any order (the buffer is reused)', () => {
  for (const secret of secrets) {
    const hmac = hmacSha256(secret);
    for (const message of [...messages, ...messages.slice().reverse()]) {
      const expected = createHmac('sha256', secret).update(message).digest();
      assert.deepEqual(hmac.digest(message), expected, `secret ${secret.length} chars, message ${message.length} chars`);
      assert.equal(hmac.hex(message), expected.toString('hex'));
    }
  }
});

test('a digest returned earlier is not overwritten by a later call', () => {
  const hmac = hmacSha256('a-secret-of-sixteen-chars');
  const first = hmac.digest('first');
  const copy = Buffer.from(first);
  hmac.digest('second');
  assert.deepEqual(first, copy);
});
