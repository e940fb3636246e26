// One partition's recount: applies every record, in offset order, to the counting rules of
// docs/counting-rules.md and advances the hash chain. Pure and synchronous (no I/O): the log
// reader feeds it, the verifier probes it at checkpoint and live-tally offsets.
//
// This is the hot path of `tally verify`: one chain step, one decode and a few Map/object
// operations per record; no per-record allocation of its own beyond what it must remember.
import { surveyIdOfKey } from '../partition-key.js';
import { RECENT_MINUTES, talliesDigest, type OptionCounts, type RegionTally } from '../partition-tally.js';
import type { VoteCast, VoteDecoder } from '../vote-codec.js';
import { CHAIN_GENESIS, chainStep } from './hash-chain.js';
import { VoterLedger } from './voter-ledger.js';
import { structuralProblem } from './vote-rules.js';

export type Outcome = 'accepted' | 'duplicate' | 'invalid';

/** One survey's counts in one partition, in the shape `talliesDigest()` and live partials use. */
export interface SurveyRecount {
  surveyId: string;
  responses: number;
  votes: OptionCounts;
  regions: { [region: string]: RegionTally };
  /** epoch minute → accepted records, the RECENT_MINUTES minutes ending at `newestMinute` only */
  minutes: Map<number, number>;
  newestMinute: number;
  /** Offset of the first accepted record: before it the aggregator had nothing to publish. */
  firstAcceptedOffset: number;
  /** Offset of the newest accepted record so far: a partial below it is missing that record. */
  lastAcceptedOffset: number;
  /** The survey's one-vote keys. */
  ledger: VoterLedger;
}

export interface OutcomeCounts {
  accepted: number;
  duplicate: number;
  invalid: number;
}

const MINUTE_MS = 60_000;

/** A map-like object without a prototype, so ids such as `constructor` are plain keys. */
function emptyRecord<T>(): { [key: string]: T } {
  return Object.create(null) as { [key: string]: T };
}

function increment(counts: OptionCounts, question: string, options: string[]): void {
  const byOption = (counts[question] ??= emptyRecord<number>());
  for (const option of options) byOption[option] = (byOption[option] ?? 0) + 1;
}

export class PartitionRecount {
  readonly partition: number;
  /** h(last applied offset); the genesis value before any record. */
  chainHead: Buffer = CHAIN_GENESIS;
  /** Every record below this offset has been applied. */
  nextOffset = 0;
  readonly outcomes: OutcomeCounts = { accepted: 0, duplicate: 0, invalid: 0 };
  readonly surveys = new Map<string, SurveyRecount>();
  /** Survey ids named by any record of this partition (key or payload), counted or not. */
  readonly surveysSeen = new Set<string>();

  private readonly decoder: VoteDecoder;

  constructor(partition: number, decoder: VoteDecoder) {
    this.partition = partition;
    this.decoder = decoder;
  }

  /**
   * Applies the record at `offset`. Records must come in increasing offset order. `timestamp`: the
   * record's Kafka timestamp (epoch ms, -1 when none); a castAt after it is clamped to it.
   */
  apply(offset: number, key: Buffer | null, value: Buffer | null, timestamp = -1): Outcome {
    this.chainHead = chainStep(this.chainHead, offset, value);
    this.nextOffset = offset + 1;
    const keyText = key === null ? null : key.toString('utf8');
    if (keyText !== null) this.surveysSeen.add(surveyIdOfKey(keyText));
    if (value === null) return this.count('invalid');
    let vote: VoteCast;
    try {
      vote = this.decoder.decode(value);
    } catch {
      return this.count('invalid');
    }
    if (vote.surveyId) this.surveysSeen.add(vote.surveyId);
    if (structuralProblem(vote, keyText) !== null) return this.count('invalid');
    const castAt = timestamp >= 0 && vote.castAt > timestamp ? timestamp : vote.castAt;
    return this.count(this.applyVote(vote, offset, castAt));
  }

  private count(outcome: Outcome): Outcome {
    this.outcomes[outcome] += 1;
    return outcome;
  }

  private applyVote(vote: VoteCast, offset: number, castAt: number): Outcome {
    // A survey without a tally has no answered question yet, so this vote will count.
    const survey = this.surveys.get(vote.surveyId) ?? this.newSurvey(vote.surveyId, offset);
    const ledger = survey.ledger;
    const previous = ledger.voters.get(vote.voterId);
    let answered = previous ?? 0;
    let counted = false;
    for (const question in vote.answers) {
      const bit = ledger.questionBit(question);
      if (bit !== 0) {
        if ((answered & bit) !== 0) continue;
        answered |= bit;
      } else if (!ledger.claimOverflow(vote.voterId, question)) {
        continue;
      }
      counted = true;
      const options = vote.answers[question]!;
      increment(survey.votes, question, options);
      if (vote.region !== null) increment(this.regionFor(survey, vote.region).votes, question, options);
    }
    if (!counted) return 'duplicate';
    survey.lastAcceptedOffset = offset;
    ledger.voters.set(vote.voterId, answered);
    if (previous === undefined) {
      survey.responses += 1;
      if (vote.region !== null) this.regionFor(survey, vote.region).responses += 1;
    }
    this.countMinute(survey, Math.floor(castAt / MINUTE_MS));
    return 'accepted';
  }

  /** The minute window of docs/counting-rules.md: older than the window adds nothing; newer moves it. */
  private countMinute(survey: SurveyRecount, minute: number): void {
    if (minute <= survey.newestMinute - RECENT_MINUTES) return;
    survey.minutes.set(minute, (survey.minutes.get(minute) ?? 0) + 1);
    if (minute <= survey.newestMinute) return;
    survey.newestMinute = minute;
    for (const old of survey.minutes.keys()) if (old <= minute - RECENT_MINUTES) survey.minutes.delete(old);
  }

  private newSurvey(surveyId: string, offset: number): SurveyRecount {
    const survey: SurveyRecount = {
      surveyId,
      responses: 0,
      votes: emptyRecord(),
      regions: emptyRecord(),
      minutes: new Map(),
      newestMinute: -Infinity,
      firstAcceptedOffset: offset,
      lastAcceptedOffset: offset,
      ledger: new VoterLedger(),
    };
    this.surveys.set(surveyId, survey);
    return survey;
  }

  private regionFor(survey: SurveyRecount, region: string): RegionTally {
    return (survey.regions[region] ??= { responses: 0, votes: emptyRecord() });
  }

  /** Lowercase hex of the current chain head, as checkpoints store it. */
  chainHeadHex(): string {
    return this.chainHead.toString('hex');
  }

  /** `talliesDigest()` over every survey counted so far in this partition. */
  talliesDigest(): string {
    return talliesDigest(this.surveys.values());
  }
}
