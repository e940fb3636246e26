// `tally verify`, the whole run: read what the system claims (live tallies in Redis, checkpoints
// in PostgreSQL), THEN capture the log end offsets, recount the log from offset 0 to those ends,
// and check every claim at the exact offset it describes.
//
// Reading the claims before the ends means an honest aggregator can never be ahead of the
// recount: whatever it had counted was already in the log when the ends were taken. A claim
// beyond the captured end is therefore itself a difference ("beyond log end"), not a race.
//
//   claims ──► capture ends ──► recount partition by partition ──► probes fire at their offsets
//                                 (chain + counting rules)           checkpoint: chain head, digest
//                                                                    live partial: survey counts
import { Redis } from 'ioredis';
import type { TallyConfig } from '../config.js';
import { createPool } from '../db/postgres.js';
import { TallyError } from '../errors.js';
import { createKafka } from '../kafka.js';
import type { Logger } from '../logger.js';
import type { OptionCounts, SurveyPartial } from '../partition-tally.js';
import { listCheckpoints, type Checkpoint } from './checkpoints.js';
import { MerkleLeaves } from './merkle-leaves.js';
import { liveDifferences, snapshotOf, type SurveySnapshot } from './live-comparison.js';
import { livePartialsExist, loadLivePartials, loadStorePositions, type LivePartial } from './live-tallies.js';
import { readLog } from './log-reader.js';
import { PartitionRecount } from './partition-recount.js';
import { MAX_REPORTED_DIFFERENCES, type Difference, type PartitionSummary, type RecountedSurvey, type VerifyReport } from './verify-report.js';
import { WriterSchemas } from './writer-schemas.js';

export interface RecountProgress {
  elapsedMs: number;
  records: number;
  partitions: { partition: number; nextOffset: number; end: number }[];
}

export interface VerifyOptions {
  /** Compare only this survey's live tallies (and report its recount). */
  survey?: string;
  /** Recount and check only this partition. */
  partition?: number;
  onProgress?: (progress: RecountProgress) => void;
  progressIntervalMs?: number;
}

type ReadablePartial = LivePartial & { partial: SurveyPartial };

/**
 * A claim to check once the recount has applied every record below `at`: a checkpoint, a live
 * partial, or the partition's store position (every live partial of the partition must include
 * the accepted records below it).
 */
type Probe =
  | { at: number; checkpoint: Checkpoint; live?: undefined; store?: undefined }
  | { at: number; live: ReadablePartial; checkpoint?: undefined; store?: undefined }
  | { at: number; store: { source: string; partials: ReadablePartial[] }; checkpoint?: undefined; live?: undefined };

interface LiveObservation {
  live: ReadablePartial;
  snapshot: SurveySnapshot;
}

/** One partition's recount with the claims about it, in offset order. */
class PartitionCheck {
  readonly recount: PartitionRecount;
  readonly end: number;
  private readonly probes: Probe[];
  private nextProbe = 0;
  /** Offset at which the next probe fires (Infinity when none is left): one compare per record. */
  nextProbeAt: number;
  checkpointsChecked = 0;
  /** Live partials of surveys of this topic compared here (skipped foreign ones not counted). */
  liveChecked = 0;

  /** Leaf hashes of the records checkpoints still to be checked cover (their merkle_root). */
  readonly leaves: MerkleLeaves;
  /** lowestFirst[i]: the lowest first offset of the checkpoints among probes i… (Infinity: none). */
  private readonly lowestFirst: number[];

  constructor(recount: PartitionRecount, end: number, probes: Probe[]) {
    this.recount = recount;
    this.end = end;
    this.probes = probes.sort((a, b) => a.at - b.at);
    this.nextProbeAt = this.probes[0]?.at ?? Infinity;
    this.lowestFirst = new Array<number>(this.probes.length + 1).fill(Infinity);
    for (let i = this.probes.length - 1; i >= 0; i--) {
      const checkpoint = this.probes[i]!.checkpoint;
      const first = checkpoint !== undefined && checkpoint.merkleRoot !== null ? Number(checkpoint.firstOffset) : Infinity;
      this.lowestFirst[i] = Math.min(first, this.lowestFirst[i + 1]!);
    }
    this.leaves = new MerkleLeaves(this.lowestFirst[0]!);
  }

  /** Fires every probe at or below `offset`, in order. */
  fireUpTo(offset: number, fire: (probe: Probe, check: PartitionCheck) => void): void {
    while (this.nextProbe < this.probes.length && this.probes[this.nextProbe]!.at <= offset) {
      fire(this.probes[this.nextProbe]!, this);
      this.nextProbe += 1;
      this.leaves.dropBelow(this.lowestFirst[this.nextProbe]!);
    }
    this.nextProbeAt = this.probes[this.nextProbe]?.at ?? Infinity;
  }
}

export async function verify(config: TallyConfig, options: VerifyOptions, logger: Logger): Promise<VerifyReport> {
  const startedAt = Date.now();
  const topic = config.kafka.votesTopic;
  const kafka = createKafka(config, 'verify', logger);
  const admin = kafka.admin();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  const pool = createPool(config.postgres.url, 2);
  try {
    await Promise.all([admin.connect(), redis.connect()]);

    // 1. The claims. Where each partition's store has reached (the aggregator's status in Redis,
    // its checkpoints) is read BEFORE the partials: both are written only after the partials of
    // that position were published, so every partial read afterwards must include the records
    // accepted below it.
    const statusPositions = await loadStorePositions(redis, topic);
    const checkpoints = await listCheckpoints(pool, { topic, partition: options.partition });
    const live = await loadLivePartials(redis, { surveyId: options.survey, partition: options.partition });

    // 2. The ends, after the claims.
    const { all: allEnds, chosen: ends } = await captureEnds(admin, topic, options.partition);
    await admin.disconnect();

    // 3. The probes, per partition; claims beyond the captured end are differences already.
    const differences: Difference[] = [];
    const probesByPartition = new Map<number, Probe[]>([...ends.keys()].map((partition) => [partition, []]));
    for (const checkpoint of checkpoints) {
      const at = Number(checkpoint.lastOffset) + 1;
      const end = ends.get(checkpoint.partition);
      if (end === undefined || at > end) {
        differences.push({
          kind: 'checkpoint-beyond-log-end',
          partition: checkpoint.partition,
          offset: checkpoint.lastOffset,
          checkpointId: checkpoint.id,
          detail: end === undefined ? `the topic has no partition ${checkpoint.partition}` : `the log ends at offset ${end} (exclusive)`,
        });
        continue;
      }
      probesByPartition.get(checkpoint.partition)!.push({ at, checkpoint });
    }
    const unprobedLive: LivePartial[] = [];
    for (const partial of live) {
      const end = ends.get(partial.partition);
      if (partial.partial === null || partial.problem !== null || end === undefined || Number(partial.partial.nextOffset) > end) {
        unprobedLive.push(partial);
        continue;
      }
      probesByPartition.get(partial.partition)!.push({ at: Number(partial.partial.nextOffset), live: partial as ReadablePartial });
    }
    const storePositions = storePositionsOf(statusPositions, checkpoints, ends);
    for (const [partition, { at, source }] of storePositions) {
      const partials = live.filter((l): l is ReadablePartial => l.partition === partition && l.partial !== null && l.problem === null && Number(l.partial.nextOffset) < at);
      if (partials.length > 0) probesByPartition.get(partition)!.push({ at, store: { source, partials } });
    }

    // 4. The recount.
    const schemas = new WriterSchemas(config.registryUrl, topic, config.schemaNotFoundGraceMs);
    const checks = new Map<number, PartitionCheck>();
    for (const [partition, end] of ends) checks.set(partition, new PartitionCheck(new PartitionRecount(partition, schemas.decoder), end, probesByPartition.get(partition)!));
    const checkpointResults = { checked: 0, matched: 0 };
    const observations: LiveObservation[] = [];
    const fire = (probe: Probe, check: PartitionCheck) => {
      if (probe.checkpoint !== undefined) {
        check.checkpointsChecked += 1;
        checkpointResults.checked += 1;
        const found = checkCheckpoint(probe.checkpoint, check.recount, check.leaves);
        if (found.length === 0) checkpointResults.matched += 1;
        differences.push(...found);
      } else if (probe.store !== undefined) {
        differences.push(...behindStore(probe.at, probe.store.source, probe.store.partials, check.recount));
      } else {
        observations.push({ live: probe.live, snapshot: snapshotOf(check.recount.surveys.get(probe.live.surveyId)) });
      }
    };

    const readEnds = new Map([...allEnds].map(([partition, end]) => [partition, ends.has(partition) ? end : 0]));
    const recountStarted = Date.now();
    const progressTimer = startProgress(options, recountStarted, checks);
    try {
      await readLog({
        kafka,
        topic,
        ends: readEnds,
        logger,
        onBatch: async (partition, messages) => {
          const check = checks.get(partition)!;
          const recount = check.recount;
          await schemas.prepare(messages);
          for (const message of messages) {
            const offset = Number(message.offset);
            if (offset < recount.nextOffset) continue; // redelivered after a consumer restart
            if (offset >= check.nextProbeAt) check.fireUpTo(offset, fire);
            check.leaves.add(offset, message.value);
            recount.apply(offset, message.key, message.value, Number(message.timestamp));
          }
        },
      });
    } finally {
      clearInterval(progressTimer);
    }
    const recountMs = Date.now() - recountStarted;
    for (const check of checks.values()) check.fireUpTo(check.end, fire);

    // 5. Live tallies, now that we know which surveys this topic holds.
    const existsNow: ExistsNow = options.survey !== undefined ? null : (candidates) => livePartialsExist(redis, candidates);
    const liveResults = await compareLive(checks, observations, unprobedLive, differences, existsNow, storePositions);

    differences.sort((a, b) => a.partition - b.partition || compareOffsets(a.offset, b.offset));
    const summaries = [...checks.values()].map(summarize);
    const records = summaries.reduce((sum, p) => sum + p.records, 0);
    return {
      ok: differences.length === 0,
      topic,
      filter: { ...(options.survey !== undefined ? { survey: options.survey } : {}), ...(options.partition !== undefined ? { partition: options.partition } : {}) },
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
      recountMs,
      records,
      recordsPerSecond: recountMs > 0 ? Math.round((records * 1000) / recountMs) : records,
      partitions: summaries,
      checkpoints: checkpointResults,
      live: liveResults,
      ...(options.survey !== undefined ? { survey: recountedSurvey(options.survey, checks) } : {}),
      differences: differences.slice(0, MAX_REPORTED_DIFFERENCES),
      differenceCount: differences.length,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
    await pool.end().catch(() => undefined);
  }
}

/**
 * Every partition → its high watermark, and the chosen ones (all, or `only`) with their ends.
 * Fails if a chosen partition cannot be recounted from offset 0.
 */
async function captureEnds(
  admin: ReturnType<ReturnType<typeof createKafka>['admin']>,
  topic: string,
  only: number | undefined,
): Promise<{ all: Map<number, number>; chosen: Map<number, number> }> {
  if (!(await admin.listTopics()).includes(topic)) throw new TallyError('TALLY_ERR_VERIFY_INCOMPLETE', `topic ${topic} does not exist`);
  const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
  if (only !== undefined && !offsets.some((o) => o.partition === only)) {
    throw new TallyError('TALLY_ERR_VERIFY_INCOMPLETE', `topic ${topic} has no partition ${only} (it has ${offsets.length})`);
  }
  const all = new Map<number, number>();
  const chosen = new Map<number, number>();
  for (const { partition, low, high } of offsets) {
    all.set(partition, Number(high));
    if (only !== undefined && partition !== only) continue;
    if (Number(low) > 0) {
      throw new TallyError('TALLY_ERR_VERIFY_INCOMPLETE', `partition ${partition} starts at offset ${low}: records were deleted, so the chain cannot be recomputed`);
    }
    chosen.set(partition, Number(high));
  }
  return { all, chosen };
}

/**
 * Per recounted partition, the furthest position its store is known to have reached: the
 * aggregator's Redis status and the checkpoints (last_offset + 1), capped at the captured log end
 * (a claim beyond it is reported on its own).
 */
function storePositionsOf(status: Map<number, number>, checkpoints: Checkpoint[], ends: Map<number, number>): Map<number, { at: number; source: string }> {
  const positions = new Map<number, { at: number; source: string }>();
  const raise = (partition: number, at: number, source: string) => {
    const end = ends.get(partition);
    if (end === undefined) return;
    const capped = Math.min(at, end);
    if (capped > (positions.get(partition)?.at ?? 0)) positions.set(partition, { at: capped, source });
  };
  for (const [partition, at] of status) raise(partition, at, `the aggregator's status says its store reached offset ${at}`);
  for (const checkpoint of checkpoints) raise(checkpoint.partition, Number(checkpoint.lastOffset) + 1, `checkpoint ${checkpoint.id} covers the store up to offset ${checkpoint.lastOffset}`);
  return positions;
}

/**
 * At the store position `at`: a live partial below it whose survey has an accepted record in
 * [its nextOffset, at) is stale. The store counted that record and its publish was lost (a crash
 * between the write and the publish, a Redis that lost data); checking the partial at its own
 * offset alone would pass.
 */
function behindStore(at: number, source: string, partials: ReadablePartial[], recount: PartitionRecount): Difference[] {
  const found: Difference[] = [];
  for (const live of partials) {
    const survey = recount.surveys.get(live.surveyId);
    const nextOffset = Number(live.partial.nextOffset);
    if (survey === undefined || survey.lastAcceptedOffset < nextOffset) continue;
    found.push({
      kind: 'live-behind-store',
      partition: live.partition,
      offset: live.partial.nextOffset,
      surveyId: live.surveyId,
      detail: `the live partial stops at offset ${nextOffset}, but ${source} and the survey has accepted records up to offset ${survey.lastAcceptedOffset}: the partial is stale (a publish was lost)`,
    });
  }
  return found;
}

function checkCheckpoint(checkpoint: Checkpoint, recount: PartitionRecount, leaves: MerkleLeaves): Difference[] {
  const base = { partition: checkpoint.partition, offset: checkpoint.lastOffset, checkpointId: checkpoint.id };
  const found: Difference[] = [];
  const head = recount.chainHeadHex();
  if (checkpoint.chainHead !== head) {
    found.push({ ...base, kind: 'checkpoint-chain-head', recount: head, stored: checkpoint.chainHead, detail: `chain head differs: recount ${head}, checkpoint ${checkpoint.chainHead}` });
  }
  const digest = recount.talliesDigest();
  if (checkpoint.talliesDigest !== digest) {
    found.push({
      ...base,
      kind: 'checkpoint-tallies-digest',
      recount: digest,
      stored: checkpoint.talliesDigest,
      detail: `tallies digest differs: recount ${digest}, checkpoint ${checkpoint.talliesDigest} (the counts it describes are not the recounted ones)`,
    });
  }
  if (checkpoint.merkleRoot !== null) {
    const root = leaves.root(Number(checkpoint.firstOffset), Number(checkpoint.lastOffset))?.toString('hex') ?? 'none (no record in its range)';
    if (checkpoint.merkleRoot !== root) {
      found.push({
        ...base,
        kind: 'checkpoint-merkle-root',
        recount: root,
        stored: checkpoint.merkleRoot,
        detail: `Merkle root differs: recount ${root}, checkpoint ${checkpoint.merkleRoot} (receipts proven against it prove nothing)`,
      });
    }
  }
  const span = BigInt(checkpoint.lastOffset) - BigInt(checkpoint.firstOffset) + 1n;
  if (span < 1n || BigInt(checkpoint.records) !== span) {
    found.push({
      ...base,
      kind: 'checkpoint-range',
      detail: `records ${checkpoint.records} does not match first_offset ${checkpoint.firstOffset} .. last_offset ${checkpoint.lastOffset}`,
    });
  }
  return found;
}

/** Whether each (survey, partition) has a live partial now; null when not every survey was loaded. */
type ExistsNow = ((candidates: { surveyId: string; partition: number }[]) => Promise<boolean[]>) | null;

async function compareLive(
  checks: Map<number, PartitionCheck>,
  observations: LiveObservation[],
  unprobed: LivePartial[],
  differences: Difference[],
  existsNow: ExistsNow,
  storePositions: Map<number, { at: number }>,
): Promise<VerifyReport['live']> {
  // Redis keys carry no topic name, so live surveys of another topic on the same Redis would look
  // like lies: a survey no recounted record names is skipped (and listed), not compared.
  const seen = new Set<string>();
  for (const check of checks.values()) for (const surveyId of check.recount.surveysSeen) seen.add(surveyId);
  const skipped = new Set<string>();
  const compared = new Set<string>();
  let checked = 0;
  let matched = 0;
  /** Counts a live partial as compared (false: skipped, it names no recounted survey). */
  const admit = (live: { surveyId: string; partition: number }): boolean => {
    if (!seen.has(live.surveyId)) {
      skipped.add(live.surveyId);
      return false;
    }
    compared.add(live.surveyId);
    checked += 1;
    const check = checks.get(live.partition);
    if (check !== undefined) check.liveChecked += 1;
    return true;
  };

  for (const { live, snapshot } of observations) {
    if (!admit(live)) continue;
    const found = liveDifferences(snapshot, live.partial);
    if (found.length === 0) {
      matched += 1;
      continue;
    }
    differences.push({ kind: 'live-tally', partition: live.partition, offset: live.partial.nextOffset, surveyId: live.surveyId, detail: found.join('; ') });
  }

  for (const live of unprobed) {
    if (!admit(live)) continue;
    const end = checks.get(live.partition)?.end;
    const offset = live.partial?.nextOffset ?? '0';
    if (live.partial === null || live.problem !== null) {
      differences.push({ kind: 'live-unreadable', partition: live.partition, offset, surveyId: live.surveyId, detail: live.problem ?? 'unreadable' });
    } else {
      differences.push({
        kind: 'live-beyond-log-end',
        partition: live.partition,
        offset,
        surveyId: live.surveyId,
        detail: end === undefined ? `the topic has no partition ${live.partition}` : `live nextOffset ${offset} is beyond the log end ${end}, captured after the live tallies were read`,
      });
    }
  }

  // A survey counted below the partition's live position must have been published. A survey
  // first published while the partials were being read can look missing, so each candidate is
  // looked up again and only reported if it is still absent.
  if (existsNow !== null) {
    const livePosition = new Map<number, number>();
    const published = new Set<string>();
    for (const { live } of observations) {
      if (!seen.has(live.surveyId)) continue;
      livePosition.set(live.partition, Math.max(livePosition.get(live.partition) ?? 0, Number(live.partial.nextOffset)));
      published.add(`${live.partition}/${live.surveyId}`);
    }
    for (const live of unprobed) published.add(`${live.partition}/${live.surveyId}`);
    const candidates: { partition: number; surveyId: string; firstAcceptedOffset: number; position: number }[] = [];
    for (const [partition, check] of checks) {
      const position = Math.max(livePosition.get(partition) ?? 0, storePositions.get(partition)?.at ?? 0);
      for (const survey of check.recount.surveys.values()) {
        if (survey.firstAcceptedOffset >= position || published.has(`${partition}/${survey.surveyId}`)) continue;
        candidates.push({ partition, surveyId: survey.surveyId, firstAcceptedOffset: survey.firstAcceptedOffset, position });
      }
    }
    const present = candidates.length > 0 ? await existsNow(candidates) : [];
    candidates.forEach((candidate, index) => {
      if (present[index]) return;
      checked += 1;
      checks.get(candidate.partition)!.liveChecked += 1;
      compared.add(candidate.surveyId);
      differences.push({
        kind: 'live-missing',
        partition: candidate.partition,
        offset: String(candidate.firstAcceptedOffset),
        surveyId: candidate.surveyId,
        detail: `no live partial, though the survey has accepted votes from offset ${candidate.firstAcceptedOffset} and the partition's live tallies reached offset ${candidate.position}`,
      });
    });
  }
  return { checked, matched, surveys: [...compared].sort(), skippedSurveys: [...skipped].sort() };
}

function summarize(check: PartitionCheck): PartitionSummary {
  const { recount } = check;
  return {
    partition: recount.partition,
    end: check.end,
    records: recount.outcomes.accepted + recount.outcomes.duplicate + recount.outcomes.invalid,
    outcomes: { ...recount.outcomes },
    chainHead: recount.chainHeadHex(),
    talliesDigest: recount.talliesDigest(),
    checkpointsChecked: check.checkpointsChecked,
    liveChecked: check.liveChecked,
  };
}

function addCounts(into: OptionCounts, from: OptionCounts): void {
  for (const question of Object.keys(from)) {
    const target = (into[question] ??= {});
    for (const option of Object.keys(from[question]!)) target[option] = (target[option] ?? 0) + from[question]![option]!;
  }
}

function recountedSurvey(surveyId: string, checks: Map<number, PartitionCheck>): RecountedSurvey {
  const result: RecountedSurvey = { surveyId, responses: 0, votes: {}, regions: {} };
  for (const check of checks.values()) {
    const survey = check.recount.surveys.get(surveyId);
    if (survey === undefined) continue;
    result.responses += survey.responses;
    addCounts(result.votes, survey.votes);
    for (const region of Object.keys(survey.regions)) {
      const target = (result.regions[region] ??= { responses: 0, votes: {} });
      target.responses += survey.regions[region]!.responses;
      addCounts(target.votes, survey.regions[region]!.votes);
    }
  }
  return result;
}

function compareOffsets(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function startProgress(options: VerifyOptions, startedAt: number, checks: Map<number, PartitionCheck>): NodeJS.Timeout | undefined {
  const report = options.onProgress;
  if (report === undefined) return undefined;
  const timer = setInterval(() => {
    const partitions = [...checks.values()].map((check) => ({ partition: check.recount.partition, nextOffset: check.recount.nextOffset, end: check.end }));
    const records = [...checks.values()].reduce((sum, check) => sum + check.recount.outcomes.accepted + check.recount.outcomes.duplicate + check.recount.outcomes.invalid, 0);
    report({ elapsedMs: Date.now() - startedAt, records, partitions });
  }, options.progressIntervalMs ?? 2000);
  timer.unref();
  return timer;
}
