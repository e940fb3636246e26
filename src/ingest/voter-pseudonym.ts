// The voter id that enters Kafka: HMAC-SHA256 of the token's subject with TALLY_VOTER_HMAC_SECRET.
// Stable (one voter → one pseudonym, so one-vote checks work) and not reversible without the secret.
import { createHmac } from 'node:crypto';
import { hmacSha256 } from './hmac-sha256.js';

export function voterPseudonym(hmacSecret: string, voterIdentity: string): string {
  return createHmac('sha256', hmacSecret).update(voterIdentity).digest('hex');
}

/** The same function with the key prepared once (the request path calls it per new token). */
export function pseudonymizer(hmacSecret: string): (voterIdentity: string) => string {
  const hmac = hmacSha256(hmacSecret);
  return (voterIdentity) => hmac.hex(voterIdentity);
}
