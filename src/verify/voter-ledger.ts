// Which questions each voter of one survey has answered: the one-vote keys (survey, question,
// voter) of the counting rules, held compactly. One Map entry per voter with a bitmask of the
// survey's first 30 question ids (surveys rarely have more); later question ids fall back to a
// Set of (voter, question) keys. A voter with an entry has responded.
//
// Why not a Set of "survey|question|voter" strings: building and hashing one new string per
// answer made it the slowest step of a recount.
const MASK_BITS = 30; // 1 << 29 is the last bit that keeps the mask a small integer

export class VoterLedger {
  /** voterId → bitmask of answered questions (bits from `questionBit`). */
  readonly voters = new Map<string, number>();
  private readonly bits = new Map<string, number>();
  private readonly overflow = new Set<string>();

  /** The question's bit, or 0 when the survey has used up the bits (then use `claimOverflow`). */
  questionBit(question: string): number {
    let bit = this.bits.get(question);
    if (bit === undefined) {
      bit = this.bits.size < MASK_BITS ? 1 << this.bits.size : 0;
      this.bits.set(question, bit);
    }
    return bit;
  }

  /** Marks (voter, question) answered for a question without a bit; false if it already was. */
  claimOverflow(voterId: string, question: string): boolean {
    const key = `${voterId.length}:${voterId}${question}`;
    if (this.overflow.has(key)) return false;
    this.overflow.add(key);
    return true;
  }
}
