// The voter id that enters Kafka: HMAC-SHA256 of the token's subject with TALLY_VOTER_HMAC_SECRET.
// Stable (one voter → one pseudonym, so one-vote checks work) and not reversible without the secret.
import { createHmac } from 'node:crypto';

export function voterPseudonym(hmacSecret: string, voterIdentity: string): string {
  return createHmac('sha256', hmacSecret).update(voterIdentity).digest('hex');
}
