// `bench chaos`: votes over HTTP through ingest → Kafka → aggregate → Redis → broadcast while a
// fault schedule hits every dependency (fault-actions.ts): kill -9 the aggregator several times,
// kill -9 a broker and restart it (3 brokers), restart Redis and PostgreSQL (the run's own, on
// other ports: own-services.ts), SIGSTOP the schema registry for 10 s, kill -9 one broadcaster
// process. Per fault: the time until a vote accepted after it is visible in the results JSON
// ("served again"), the 503s during it, the max consumer lag, and for the aggregator the time until
// it commits again. At the end the counts the 202 answers imply must equal the results JSON, a new
// SSE connection's snapshot and `tally verify`'s recount, and verify must pass: any difference
// fails the run, naming it.
import type { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, ensureTopics } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { BENCH_RATE_LIMITS } from '../ingest/ingest-scenario.js';
import { sampleLag, type LagSample } from '../lib/consumer-lag.js';
import { timelinePlot, type Row, type TimelineMark } from '../lib/plots.js';
import { markdownTable, printOutcome, writeReport, type Check, type Figure } from '../lib/report-writer.js';
import { startRole, type RoleProcess } from '../lib/role-process.js';
import { createRunContext, printHeader } from '../lib/run-context.js';
import { createRunEnv } from '../lib/run-env.js';
import { createSurveys, deleteSurveys, type BenchSurvey } from '../lib/survey-setup.js';
import { BallotLoad, type AcceptedBallot } from './ballot-load.js';
import { differences, firstSseSnapshot, recountedCounts, resultsJson, resultsJsonDifferences, runVerify } from './count-checks.js';
import { brokerAction, childPids, faultSchedule, listenerPid, pauseProcess, threeBrokersUp, type FaultKind } from './fault-actions.js';
import { OwnPostgres, OwnRedis } from './own-services.js';
import { AlertWatch } from './alert-watch.js';

export const THREE_BROKERS = '127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096';

export interface ChaosOptions {
  brokers: 1 | 3;
  rate: number;
  surveys: number;
  partitions: number;
  workers: number;
  aggregatorKills: number;
  /** seconds of load before the first fault, between faults (after served again), after the last */
  warmup: number;
  gap: number;
  tail: number;
  /** seconds a killed broker stays down; seconds the registry stays stopped */
  brokerDown: number;
  registryStop: number;
  /** a fault not served again within this many seconds fails the run */
  servedTimeout: number;
  seed: number;
  /** the aggregator's consumer session (TALLY_AGGREGATE_SESSION_TIMEOUT_MS); undefined = its default */
  sessionTimeoutMs?: number;
  /** run a real Prometheus with ops/prometheus/tally-alerts.yml beside the run (if installed) */
  prometheus: boolean;
  keep: boolean;
  results?: string;
}

/** One fault of the schedule, as measured. */
export interface FaultResult {
  kind: FaultKind;
  label: string;
  /** ms since the load started */
  at: number;
  /** fault injected → a vote accepted after it visible in the results JSON (null: never) */
  servedAgainMs: number | null;
  /** aggregator only: kill → the group's committed offsets move again */
  countingAgainMs?: number | null;
  /** aggregator only: kill → the new process answers /readyz */
  readyMs?: number;
  refused503: number;
  otherErrors: number;
  maxLag: number;
  detail: string;
}

const LAG_SAMPLE_MS = 250;

export async function runChaos(options: ChaosOptions): Promise<number> {
  const context = createRunContext('chaos', { ...options }, options.results);
  printHeader(context);
  const say = (line: string) => context.progress(line);
  if (options.brokers === 3) await threeBrokersUp(say);
  const redis = await OwnRedis.start();
  say(`own redis on ${redis.port}`);
  const postgres = await OwnPostgres.start();
  say(`own postgresql on ${postgres.port} (initdb, roles, migrations)`);
  const runEnv = await createRunEnv({
    runId: context.header.runId,
    partitions: options.partitions,
    workerThreads: options.workers,
    extra: {
      ...BENCH_RATE_LIMITS,
      ...postgres.env(),
      TALLY_REDIS_URL: redis.url,
      ...(options.brokers === 3 ? { TALLY_KAFKA_BROKERS: THREE_BROKERS } : {}),
      TALLY_INGEST_PROCESSES: '1',
      ...(options.sessionTimeoutMs ? { TALLY_AGGREGATE_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs) } : {}),
      // Two broadcaster processes (one per 16,000 target clients), so one can be dropped.
      TALLY_BROADCAST_TARGET_CLIENTS: '32000',
      TALLY_WINDOW_MS: '500',
      TALLY_LOG_LEVEL: 'info',
    },
  });
  const { config, env } = runEnv;
  // Its own client errors while a broker is down are the fault itself, not news: not logged.
  const kafka = createKafka(config, 'bench-chaos', createLogger('bench', { logLevel: 'fatal' }));
  const admin: Admin = kafka.admin();
  const roles: { ingest?: RoleProcess; aggregate?: RoleProcess; broadcast?: RoleProcess } = {};
  const stoppedAggregators: RoleProcess[] = [];
  let surveys: BenchSurvey[] = [];
  let load: BallotLoad | undefined;
  let registryPause: { cont(): void } | undefined;
  let alerts: AlertWatch | undefined;
  const lag: LagSample[] = [];
  let sampling = true;
  let sampler: Promise<void> = Promise.resolve();
  // A role process that exits without being killed by the schedule fails the run at once.
  const deaths: string[] = [];
  const watch = (role: RoleProcess): RoleProcess => {
    role.child.once('exit', (code, signal) => {
      if (!stoppedAggregators.includes(role) && !stopping) {
        deaths.push(`${role.role} (pid ${role.pid}) exited with ${signal ?? code}; see ${role.logPath}`);
        say(`ROLE DIED: ${deaths.at(-1)}`);
      }
    });
    return role;
  };
  let stopping = false;
  const startAggregate = async () => watch(await startRole({ role: 'aggregate', port: config.ports.aggregate, env, logDir: context.dir, readyTimeoutMs: 120_000 }));
  try {
    await admin.connect();
    await ensureTopics(admin, config);
    roles.aggregate = await startAggregate();
    roles.ingest = watch(await startRole({ role: 'ingest', port: config.ports.ingest, env, logDir: context.dir }));
    roles.broadcast = watch(await startRole({ role: 'broadcast', port: config.ports.broadcast, env, logDir: context.dir, readyTimeoutMs: 120_000 }));
    say(`roles ready: ingest ${roles.ingest.pid}, aggregate ${roles.aggregate.pid}, broadcast ${roles.broadcast.pid} (workers ${childPids(roles.broadcast.pid).join(', ')})`);
    if (options.prometheus) {
      alerts = await AlertWatch.start([config.ports.ingest, config.ports.aggregate, config.ports.broadcast].map((port) => `127.0.0.1:${port}`));
      say(alerts ? `prometheus on ${alerts.port}: scraping the roles, evaluating ops/prometheus/tally-alerts.yml every second` : 'prometheus is not installed: no alert figures (apt-get install prometheus)');
    }
    surveys = await createSurveys(config, config.ports.ingest, { count: options.surveys, questions: 2, options: 4, runId: context.header.runId });

    load = new BallotLoad(config, { port: config.ports.ingest, surveys, rate: options.rate, maxInFlight: 64, runId: context.header.runId, seed: options.seed, ballotDeadlineMs: 180_000 });
    const origin = Date.now();
    const since = (at: number) => at - origin;
    sampler = (async () => {
      while (sampling) {
        try {
          lag.push(await sampleLag(admin, config.kafka.votesTopic, config.kafka.consumerGroup, since(Date.now())));
        } catch {
          // a broker or the coordinator is away: no sample
        }
        await sleep(LAG_SAMPLE_MS);
      }
    })();
    load.start();
    say(`load: ${options.rate} ballots/s over ${surveys.length} surveys; warm-up ${options.warmup} s`);
    await sleep(options.warmup * 1000);

    const faults: FaultResult[] = [];
    const schedule = faultSchedule({ brokers: options.brokers, aggregatorKills: options.aggregatorKills });
    let kill = 0;
    for (const kind of schedule) {
      if (deaths.length > 0) break;
      const at = Date.now();
      let detail = '';
      let label: string = kind;
      let countingAgainMs: number | null | undefined;
      let readyMs: number | undefined;
      let faultEnd = at;
      // Faults with a duration (a broker down, the registry stopped): is a vote accepted after the
      // fault began served *during* it? Restarts: served once the restart is done.
      let servedDuring: Promise<number | null> | undefined;
      const probe = (from: number) => servedAgain(load!, config.ports.broadcast, from, at + options.servedTimeout * 1000, () => deaths.length > 0);
      if (kind === 'aggregator-kill') {
        kill += 1;
        label = `aggregator kill -9 #${kill}`;
        roles.aggregate!.child.kill('SIGKILL');
        stoppedAggregators.push(roles.aggregate!);
        await roles.aggregate!.stop(1000);
        // Read once the process is gone: no commit of the dead member can land after this.
        const before = (await sampleLag(admin, config.kafka.votesTopic, config.kafka.consumerGroup, 0)).committed;
        const counting = waitCommitted(admin, config.kafka.votesTopic, config.kafka.consumerGroup, before, options.servedTimeout * 1000);
        roles.aggregate = await startAggregate();
        readyMs = Date.now() - at;
        const committedAt = await counting;
        countingAgainMs = committedAt === null ? null : committedAt - at;
        detail = `restarted at once (pid ${roles.aggregate.pid}); ready after ${readyMs} ms`;
      } else if (kind === 'broker-kill') {
        const meta = await admin.fetchTopicMetadata({ topics: [config.kafka.votesTopic] });
        const node = meta.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
        label = `broker ${node} kill -9 (${options.brokerDown} s)`;
        await brokerAction(node, 'kill');
        servedDuring = probe(at);
        await sleep(options.brokerDown * 1000);
        const restarting = Date.now();
        await brokerAction(node, 'start');
        faultEnd = Date.now();
        detail = `node ${node} (leader of partition 0) down ${options.brokerDown} s, serving again ${faultEnd - restarting} ms after its restart`;
      } else if (kind === 'redis-restart') {
        label = 'redis restart (every key lost)';
        await redis.restart();
        faultEnd = Date.now();
        detail = `down and up again in ${faultEnd - at} ms`;
      } else if (kind === 'postgres-restart') {
        label = 'postgresql restart -m immediate';
        await postgres.restart();
        faultEnd = Date.now();
        detail = `down and up again in ${faultEnd - at} ms`;
      } else if (kind === 'registry-stop') {
        label = `registry SIGSTOP ${options.registryStop} s`;
        const port = Number(new URL(config.registryUrl).port || 80);
        const pid = await listenerPid(port);
        registryPause = pauseProcess(pid, options.registryStop * 1000);
        servedDuring = probe(at);
        await sleep(options.registryStop * 1000);
        registryPause.cont();
        registryPause = undefined;
        faultEnd = Date.now();
        detail = `pid ${pid} (the shared registry) stopped, continued`;
      } else {
        const workers = childPids(roles.broadcast!.pid);
        const victim = workers[0];
        label = 'broadcaster process kill -9';
        if (victim) process.kill(victim, 'SIGKILL');
        detail = victim ? `worker ${victim} of ${workers.length}; the cluster primary forks a new one` : 'no broadcaster worker found';
      }
      say(`fault: ${label}${detail ? ` — ${detail}` : ''}`);
      const servedAt = await (servedDuring ?? probe(faultEnd));
      const windowEnd = Math.max(servedAt ?? Date.now(), faultEnd);
      const during = load.answers.filter((a) => a.at >= at && a.at <= windowEnd);
      const lagDuring = lag.filter((s) => s.t >= since(at) && s.t <= since(windowEnd));
      const result: FaultResult = {
        kind,
        label,
        at: since(at),
        servedAgainMs: servedAt === null ? null : servedAt - at,
        ...(countingAgainMs !== undefined ? { countingAgainMs } : {}),
        ...(readyMs !== undefined ? { readyMs } : {}),
        refused503: during.filter((a) => a.status === 503).length,
        otherErrors: during.filter((a) => a.status !== 503 && a.status !== 202).length,
        maxLag: Math.max(0, ...lagDuring.map((s) => s.lag)),
        detail,
      };
      faults.push(result);
      say(
        `  served again after ${result.servedAgainMs ?? 'never'} ms${countingAgainMs !== undefined ? `, counting again after ${countingAgainMs ?? 'never'} ms` : ''}; ${result.refused503} × 503, ${result.otherErrors} other errors, max lag ${result.maxLag}`,
      );
      await sleep(options.gap * 1000);
    }
    if (deaths.length === 0) await sleep(options.tail * 1000);
    say(`stopping the load: ${load.ballotsIssued} ballots issued, ${load.pending} still waiting for a definitive answer`);
    if (deaths.length > 0) await load.abort();
    else await load.stop();
    const caughtUp = deaths.length === 0 && (await waitCaughtUp(admin, config.kafka.votesTopic, config.kafka.consumerGroup, 120_000));
    sampling = false;
    await sampler;

    // The counts the answers imply vs every reader.
    const expected = load.expected();
    const jsonDiffs: string[] = [];
    const sseDiffs: string[] = [];
    const verifyDiffs: string[] = [];
    if (deaths.length > 0) for (const list of [jsonDiffs, sseDiffs, verifyDiffs]) list.push('not checked: a role died');
    for (const survey of deaths.length === 0 ? surveys : []) {
      const want = expected.get(survey.id)!;
      for (const d of await resultsJsonDifferences(config.ports.broadcast, survey.id, want, 30_000)) jsonDiffs.push(`survey ${survey.id}: ${d}`);
      try {
        for (const d of differences(want, await firstSseSnapshot(config.ports.broadcast, survey.id, 10_000))) sseDiffs.push(`survey ${survey.id}: ${d}`);
      } catch (error) {
        sseDiffs.push(`survey ${survey.id}: ${(error as Error).message}`);
      }
      const { report } = await runVerify(env, survey.id);
      for (const d of differences(want, recountedCounts(report))) verifyDiffs.push(`survey ${survey.id} (log recount): ${d}`);
    }
    const verify = await runVerify(env);
    await alerts?.stop();
    const fired = [...(alerts?.fired.values() ?? [])];
    const expectedTotal = [...expected.values()].reduce((n, s) => n + s.responses, 0);
    const served = faults.filter((f) => f.servedAgainMs !== null);
    const kills = faults.filter((f) => f.kind === 'aggregator-kill');
    const countingTimes = kills.map((f) => f.countingAgainMs).filter((ms): ms is number => typeof ms === 'number');
    const errorsByLabel: Record<string, number> = {};
    for (const answer of load.answers) if (answer.label) errorsByLabel[answer.label] = (errorsByLabel[answer.label] ?? 0) + 1;

    const figures: Figure[] = [
      { name: 'ballots with a definitive answer', value: load.accepted.length + load.recordedEarlier.length, unit: 'votes', meaning: `${load.accepted.length} × 202, ${load.recordedEarlier.length} × 409 duplicate after a retry (recorded by an earlier attempt); ${load.refused.length} refused for good, ${load.unresolved.length} unresolved; of ${load.ballotsIssued} issued at ${options.rate}/s` },
      { name: 'aggregator: kill -9 → counting again (max)', value: countingTimes.length ? Math.max(...countingTimes) : 'n/a', unit: 'ms', meaning: `per kill: ${kills.map((f) => f.countingAgainMs ?? 'never').join(', ')} ms (target < 10,000); bounded by the dead member's session timeout (${config.aggregate.sessionTimeoutMs} ms here), see the restart section` },
      { name: 'faults served again', value: `${served.length} / ${faults.length}`, meaning: `a vote accepted after the fault visible in the results JSON within ${options.servedTimeout} s; slowest ${Math.max(0, ...served.map((f) => f.servedAgainMs!))} ms` },
      { name: '503 answers (all retried)', value: load.answers.filter((a) => a.status === 503).length, unit: 'answers', meaning: Object.entries(errorsByLabel).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none' },
      ...(alerts
        ? [{ name: 'alerts fired (a real Prometheus)', value: fired.length, unit: 'alerts', meaning: fired.length ? fired.map((a) => `${a.alertname} at ${((a.firstSeen - origin) / 1000).toFixed(0)} s`).join(', ') : 'none fired (rules with for: 0s, evaluated every second)' }]
        : []),
      { name: 'max consumer lag', value: Math.max(0, ...lag.map((s) => s.lag)), unit: 'records', meaning: `over the whole run (sampled every ${LAG_SAMPLE_MS} ms from Kafka: end offsets − committed)` },
    ];
    const checks: Check[] = [
      { name: 'no role process died unless the schedule killed it', passed: deaths.length === 0, detail: deaths.length ? `${deaths.join('; ')} (the schedule stopped there)` : `${faults.length} of ${schedule.length} faults run` },
      { name: 'every ballot got a definitive answer', passed: load.unresolved.length === 0 && load.refused.length === 0, detail: `${load.unresolved.length} unresolved, ${load.refused.length} refused for good${load.refused.length ? ` (${[...new Set(load.refused.map((r) => r.answer))].join(', ')})` : ''}` },
      { name: 'the pipeline served again after every fault', passed: served.length === faults.length, detail: faults.map((f) => `${f.label}: ${f.servedAgainMs ?? 'never'} ms`).join('; ') },
      { name: 'the aggregator caught up after the load', passed: caughtUp, detail: caughtUp ? 'committed offsets = log end' : 'lag left after 120 s' },
      { name: 'results JSON = the counts the answers imply', passed: jsonDiffs.length === 0, detail: jsonDiffs.length ? jsonDiffs.slice(0, 20).join('; ') : `${surveys.length} surveys, ${expectedTotal} responses, every option equal` },
      { name: 'a new SSE connection\'s snapshot = the counts the answers imply', passed: sseDiffs.length === 0, detail: sseDiffs.length ? sseDiffs.slice(0, 20).join('; ') : 'every survey equal' },
      { name: '`tally verify` recount of the log = the counts the answers imply', passed: verifyDiffs.length === 0, detail: verifyDiffs.length ? verifyDiffs.slice(0, 20).join('; ') : 'every survey equal' },
      { name: '`tally verify` passes (checkpoints and every live partial match the recount)', passed: verify.code === 0 && verify.report.ok, detail: `exit ${verify.code}; ${verify.report.differenceCount} differences${verify.report.differences.length ? `: ${verify.report.differences.slice(0, 5).map((d) => `${d.kind} p${d.partition}@${d.offset}${d.surveyId ? ` survey ${d.surveyId}` : ''}: ${d.detail}`).join('; ')}` : ''}` },
      ...(options.aggregatorKills > 0 ? [{ name: 'every aggregator restart counted again within 10 s', passed: countingTimes.length === kills.length && countingTimes.every((ms) => ms < 10_000), detail: kills.map((f) => `${f.countingAgainMs ?? 'never'} ms`).join(', ') }] : []),
    ];
    const outcome = {
      figures,
      checks,
      sections: [
        {
          title: 'Faults',
          markdown: markdownTable(
            ['at (s)', 'fault', 'served again (ms)', 'counting again (ms)', '503s', 'other errors', 'max lag', 'detail'],
            faults.map((f) => [(f.at / 1000).toFixed(1), f.label, f.servedAgainMs ?? 'never', f.countingAgainMs ?? '', f.refused503, f.otherErrors, f.maxLag, f.detail]),
          ),
        },
        { title: 'Aggregator restart time', markdown: RESTART_NOTE },
        ...(options.brokers === 3 ? [{ title: 'Broker failover', markdown: BROKER_NOTE }] : []),
        ...(alerts
          ? [{ title: 'Alerts (Prometheus, ops/prometheus/tally-alerts.yml with every `for` at 0s)', markdown: fired.length ? markdownTable(['alert', 'labels', 'first firing (s)', 'last firing (s)'], fired.map((a) => [a.alertname, Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(' '), ((a.firstSeen - origin) / 1000).toFixed(1), ((a.lastSeen - origin) / 1000).toFixed(1)])) : 'none fired' }]
          : []),
        { title: 'Setup', markdown: `${options.brokers} broker${options.brokers === 3 ? 's (stack/stack.sh up --brokers 3; topics replicated 3×, min.insync.replicas 2)' : ''}; own Redis on ${redis.port} and PostgreSQL on ${postgres.port}; the shared schema registry; roles: 1 ingest process, 1 aggregator (${options.workers} worker threads), broadcast cluster of ${childPids(roles.broadcast.pid).length} processes; ${options.partitions} partitions; ${surveys.length} surveys × 2 questions × 4 options.` },
      ],
      plots: [timelinePlot('timeline', 'Chaos timeline: answers per second and consumer lag, faults shaded', timelineRows(load, lag, origin), { field: 't', title: 'seconds since the load started' }, { field: 'value' }, 'series', faults.map((f) => faultMark(f, lag)))],
      data: { faults, lag, alertsFired: fired, expected: Object.fromEntries(expected), errors: errorsByLabel, unresolved: load.unresolved, refused: load.refused, verify: { code: verify.code, differences: verify.report.differences }, jsonDiffs, sseDiffs, verifyDiffs },
    };
    const written = await writeReport(context, outcome);
    printOutcome(context, outcome, written);
    return written.passed ? 0 : 1;
  } finally {
    stopping = true;
    registryPause?.cont();
    await alerts?.stop().catch(() => undefined);
    sampling = false;
    await sampler.catch(() => undefined);
    if (load) await Promise.race([load.stop(), sleep(5000)]);
    if (roles.ingest && !options.keep) await deleteSurveys(config, config.ports.ingest, surveys).catch(() => undefined);
    for (const role of [roles.broadcast, roles.ingest, roles.aggregate]) if (role) say(`${role.role} stopped: ${await role.stop()}`);
    for (const role of stoppedAggregators) await role.stop(100);
    if (!options.keep) await admin.deleteTopics({ topics: [config.kafka.votesTopic, config.kafka.dlqTopic] }).catch(() => undefined);
    if (!options.keep) await admin.deleteGroups([config.kafka.consumerGroup]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await redis.stop();
    await postgres.stop();
    runEnv.removeDataDir();
  }
}

const RESTART_NOTE = [
  'A killed aggregator counts again once the group has rebalanced without it. kafkajs 2.2.4 has',
  'neither static membership (KIP-345 `group.instance.id`: a restarted member with the same id would',
  'take its partitions back without a rebalance) nor the KIP-848 consumer protocol, so the new',
  'process\'s join waits until the coordinator expires the dead member: its session timeout (6 s,',
  'the broker\'s default `group.min.session.timeout.ms`) after its last heartbeat. Counting again ≈',
  'process start + RocksDB open (in parallel with the wait) + the rest of the 6 s + join/sync + the',
  'first fetch and synced write. Under 5 s would take one of: a lower broker',
  '`group.min.session.timeout.ms` with a session of 2–3 s (`TALLY_AGGREGATE_SESSION_TIMEOUT_MS`; the',
  'stack\'s 3-node cluster allows 1 s, `bench chaos --brokers 3 --session-timeout 3000` measures it;',
  'the price: a member starved of CPU that long is expired and its partitions move); the new process sending LeaveGroup for the dead member id it saved in its data dir',
  '(the coordinator then rebalances at once; kafkajs does not expose LeaveGroup for another member id);',
  'or a client with static membership / KIP-848 (e.g. the librdkafka-based confluent-kafka-javascript).',
].join(' ');

const BROKER_NOTE = [
  'Topics are replicated 3 times with min.insync.replicas 2, so every acknowledged vote survives the',
  'kill and writes go on with two brokers. The 503s of the broker fault are the sends to partitions',
  'the dead broker led: they fail (ingest answers 503 `TALLY_ERR_UNAVAILABLE` or, when the batch may',
  'have been appended, `TALLY_ERR_VOTE_OUTCOME_UNKNOWN`, and replaces its producer) until the',
  'controller moves leadership to an in-sync follower, which it does once the broker is fenced:',
  'its heartbeats stopped for `broker.session.timeout.ms` (9 s by default in KRaft) or it is seen',
  'gone. The ballots retry and each is counted once (the checks above).',
].join(' ');

/** ms epoch when the group's committed total first exceeds `before`, or null at the deadline. */
async function waitCommitted(admin: Admin, topic: string, groupId: string, before: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const sample = await sampleLag(admin, topic, groupId, 0).catch(() => undefined);
    if (sample && sample.committed > before) return Date.now();
    await sleep(100);
  }
  return null;
}

async function waitCaughtUp(admin: Admin, topic: string, groupId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const sample = await sampleLag(admin, topic, groupId, 0).catch(() => undefined);
    if (sample && sample.lag === 0) return true;
    await sleep(500);
  }
  return false;
}

/**
 * When a vote accepted at or after `from` is visible in the results JSON (its partition's
 * watermark above its offset), or null at `deadline`.
 */
async function servedAgain(load: BallotLoad, broadcastPort: number, from: number, deadline: number, abandon: () => boolean): Promise<number | null> {
  let probe: AcceptedBallot | undefined;
  while (Date.now() < deadline && !abandon()) {
    probe ??= load.accepted.find((b) => b.acceptedAt >= from);
    if (probe) {
      try {
        const view = await resultsJson(broadcastPort, probe.surveyId);
        if (Number(view.watermark[String(probe.partition)] ?? 0) > probe.offset) return Date.now();
      } catch {
        // broadcaster or Redis away: try again
      }
    }
    await sleep(100);
  }
  return null;
}

function timelineRows(load: BallotLoad, lag: LagSample[], origin: number): Row[] {
  const perSecond = new Map<number, { accepted: number; refused: number; other: number }>();
  for (const answer of load.answers) {
    const second = Math.floor((answer.at - origin) / 1000);
    const bucket = perSecond.get(second) ?? { accepted: 0, refused: 0, other: 0 };
    if (answer.status === 202) bucket.accepted += 1;
    else if (answer.status === 503) bucket.refused += 1;
    else bucket.other += 1;
    perSecond.set(second, bucket);
  }
  const rows: Row[] = [];
  const last = Math.max(0, ...perSecond.keys());
  for (let second = 0; second <= last; second++) {
    const bucket = perSecond.get(second) ?? { accepted: 0, refused: 0, other: 0 };
    rows.push({ t: second, series: '202 per second', value: bucket.accepted });
    rows.push({ t: second, series: '503 per second', value: bucket.refused });
    rows.push({ t: second, series: 'other errors per second', value: bucket.other });
  }
  for (const sample of lag) rows.push({ t: sample.t / 1000, series: 'consumer lag (records)', value: sample.lag });
  return rows;
}

function faultMark(fault: FaultResult, lag: LagSample[]): { label: string; start: number; end: number } {
  const start = fault.at / 1000;
  const end = start + Math.max(0.5, (fault.servedAgainMs ?? (lag.at(-1)?.t ?? fault.at) - fault.at) / 1000);
  return { label: fault.label, start, end } satisfies TimelineMark;
}
