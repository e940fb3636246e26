// Integration: Kafka, registry, PostgreSQL, Redis
// Vote receipts end to end (issue 15): votes cast over HTTP on the real `tally ingest` carry a
// receipt; once the real aggregator has checkpointed, GET /v1/receipts/:partition/:offset gives an
// audit path that an RFC 6962 check written here (not the project's) takes to the root published
// by GET /v1/audit/checkpoints; one flipped byte of leaf, path or root fails; an offset no
// checkpoint covers is 404 pending; `tally verify-receipt` exits 0 / 1 / 2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { start } from '../../src/ingest/ingest-role.js';
import type { RunningRole } from '../../src/role.js';
import { mintToken } from '../../src/ingest/tokens.js';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { AggregatorProcess, freePort } from '../aggregate/support/aggregator-process.js';
import { sampleSurvey } from '../ingest/support/ingest-harness.js';
import { committedOffsets, waitCaughtUp } from '../support/caught-up.js';
import { envOf, testConfig } from '../support/test-config.js';
import { deleteTestTopics } from '../support/test-topics.js';
import { deleteCheckpointsOf } from './support/checkpoint-admin.js';

const config = testConfig('receipts', { TALLY_VOTES_PARTITIONS: '2', TALLY_CHECKPOINT_EVERY: '4', TALLY_WORKER_THREADS: '1' });
const logger = createLogger('test', config);
const admin = createKafka(config, 'receipts-test', logger).admin();
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const adminToken = mintToken(config, { kind: 'admin' }, 600);
let ingest: RunningRole;
let base: string;

interface Receipt {
  topic: string;
  partition: number;
  offset: string;
  leafHash: string;
}
interface Proof extends Receipt {
  leafIndex: number;
  treeSize: number;
  checkpoint: { id: string; firstOffset: string; lastOffset: string; records: string; merkleRoot: string; chainHead: string; createdAt: string };
  auditPath: string[];
}
const receipts: Receipt[] = [];
let survey: { id: string; questions: { id: string; options: { id: string }[] }[] };

async function call(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const castVote = (voter: string, headers: Record<string, string> = {}) =>
  call('POST', `/v1/surveys/${survey.id}/votes`, mintToken(config, { kind: 'voter', voterId: voter }, 600), { answers: { [survey.questions[0]!.id]: [survey.questions[0]!.options[0]!.id] } }, headers);

// ---- RFC 6962, written here from the RFC on purpose (not src/merkle-tree.ts)
const sha256 = (...parts: Buffer[]) => parts.reduce((h, part) => h.update(part), createHash('sha256')).digest();
/** PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]); so the last hash is the top sibling. */
function rfcRoot(m: number, n: number, leaf: Buffer, path: Buffer[]): Buffer {
  if (n === 1) {
    if (path.length !== 0) throw new Error('path too long');
    return leaf;
  }
  if (path.length === 0) throw new Error('path too short');
  let k = 1;
  while (k * 2 < n) k *= 2;
  const sibling = path[path.length - 1]!;
  const rest = path.slice(0, -1);
  return m < k ? sha256(Buffer.from([1]), rfcRoot(m, k, leaf, rest), sibling) : sha256(Buffer.from([1]), sibling, rfcRoot(m - k, n - k, leaf, rest));
}
function rfcProves(proof: Proof, leafHex: string, pathHex: string[], rootHex: string): boolean {
  try {
    const m = Number(BigInt(proof.offset) - BigInt(proof.checkpoint.firstOffset));
    const n = Number(BigInt(proof.checkpoint.lastOffset) - BigInt(proof.checkpoint.firstOffset) + 1n);
    return rfcRoot(m, n, Buffer.from(leafHex, 'hex'), pathHex.map((h) => Buffer.from(h, 'hex'))).toString('hex') === rootHex;
  } catch {
    return false;
  }
}
const flip = (hex: string, at = 0) => `${hex.slice(0, at * 2)}${((parseInt(hex.slice(at * 2, at * 2 + 2), 16) ^ 1) >>> 0).toString(16).padStart(2, '0')}${hex.slice(at * 2 + 2)}`;

async function verifyReceiptCli(receipt: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'tally-receipt-')), 'receipt.json');
  writeFileSync(file, JSON.stringify(receipt));
  return promisify(execFile)(process.execPath, [CLI, 'verify-receipt', file, '--url', base], { env: { ...process.env, ...envOf(config) } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

before(async () => {
  await admin.connect();
  ingest = await start(config);
  base = ingest.addresses[0]!;
  const created = await call('POST', '/v1/internal/surveys', adminToken, sampleSurvey());
  assert.equal(created.status, 201);
  survey = created.body as typeof survey;
  assert.equal((await call('PUT', `/v1/internal/surveys/${survey.id}/publish`, adminToken)).status, 200);
});

after(async () => {
  await ingest?.close();
  await deleteCheckpointsOf(config.postgres.adminUrl, config.kafka.votesTopic);
  await deleteTestTopics(config, admin);
  await admin.deleteGroups([config.kafka.consumerGroup]).catch(() => undefined);
  await admin.disconnect();
});

test('every 202 carries a receipt of the record it produced, replays included; no proof before a checkpoint', async () => {
  for (let i = 0; i < 11; i++) {
    const answer = await castVote(`receipt-voter-${i}`);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const receipt = answer.body.receipt as Receipt;
    assert.deepEqual({ ...receipt, leafHash: undefined }, { topic: config.kafka.votesTopic, partition: answer.body.partition, offset: answer.body.offset, leafHash: undefined });
    assert.match(receipt.leafHash, /^[0-9a-f]{64}$/);
    receipts.push(receipt);
  }
  const first = await castVote('receipt-idempotent', { 'idempotency-key': 'k1' });
  const replay = await castVote('receipt-idempotent', { 'idempotency-key': 'k1' });
  assert.equal(replay.status, 202);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(replay.body.receipt, first.body.receipt);
  receipts.push(first.body.receipt as Receipt);

  const answer = await call('POST', `/v1/surveys/${survey.id}/answers`, mintToken(config, { kind: 'voter', voterId: 'receipt-answerer' }, 600), {
    question: survey.questions[1]!.id,
    option: survey.questions[1]!.options[1]!.id,
  });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const questionAnswer = answer.body.questionAnswer as { partition: number; offset: string; receipt: Receipt };
  assert.equal(questionAnswer.receipt.offset, questionAnswer.offset);
  receipts.push(questionAnswer.receipt);

  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>> };
  assert.ok(doc.paths['/v1/receipts/{partition}/{offset}']?.get, 'the proof route is in /openapi.json');
  assert.ok(doc.paths['/v1/surveys/{id}/votes']!.post!.responses['202']!.content!['application/json']!.schema.properties!.receipt, 'the 202 documents its receipt');

  const pending = await fetch(`${base}/v1/receipts/${receipts[0]!.partition}/${receipts[0]!.offset}`);
  assert.equal(pending.status, 404);
  assert.equal(((await pending.json()) as { code: string }).code, 'TALLY_ERR_RECEIPT_PENDING');
  assert.ok(Number(pending.headers.get('retry-after')) > 0);
  assert.equal((await verifyReceiptCli(receipts[0])).code, 2, 'pending: could not check');
});

test('after the aggregator checkpointed, every receipt is proven against the published root; one flipped byte fails', async () => {
  const aggregator = new AggregatorProcess(envOf(config), await freePort());
  await aggregator.start();
  try {
    await waitCaughtUp(admin, config.kafka.votesTopic, committedOffsets(admin, config.kafka.consumerGroup, config.kafka.votesTopic), { timeoutMs: 60_000 });
  } finally {
    assert.equal(await aggregator.stop(), 0, 'graceful stop: the last checkpoints cover every record');
    aggregator.close();
  }
  const published = (await (await fetch(`${base}/v1/audit/checkpoints?limit=1000`)).json()) as { checkpoints: { id: string; partition: number; merkleRoot: string }[] };
  const sizes = new Set<number>();
  for (const receipt of receipts) {
    const response = await fetch(`${base}/v1/receipts/${receipt.partition}/${receipt.offset}`);
    assert.equal(response.status, 200, await response.clone().text());
    const proof = (await response.json()) as Proof;
    sizes.add(proof.treeSize);
    assert.equal(proof.leafHash, receipt.leafHash, 'the log holds the very bytes the receipt was made from');
    const root = published.checkpoints.find((c) => c.id === proof.checkpoint.id && c.partition === receipt.partition)?.merkleRoot;
    assert.equal(root, proof.checkpoint.merkleRoot, 'the proof names a published checkpoint and its root');
    assert.ok(rfcProves(proof, receipt.leafHash, proof.auditPath, root!), `proven: ${JSON.stringify(proof)}`);
    assert.ok(!rfcProves(proof, flip(receipt.leafHash), proof.auditPath, root!), 'a flipped leaf byte fails');
    assert.ok(!rfcProves(proof, receipt.leafHash, proof.auditPath, flip(root!, 31)), 'a flipped root byte fails');
    proof.auditPath.forEach((_, i) => {
      const path = [...proof.auditPath];
      path[i] = flip(path[i]!, 7);
      assert.ok(!rfcProves(proof, receipt.leafHash, path, root!), `a flipped byte of path[${i}] fails`);
    });
  }
  assert.ok([...sizes].some((n) => n > 2), `trees of more than two leaves were checked: ${[...sizes]}`);

  const cli = await verifyReceiptCli(receipts[1]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /PROVEN/);
  const forged = await verifyReceiptCli({ ...receipts[1], leafHash: flip(receipts[1]!.leafHash) });
  assert.equal(forged.code, 1, forged.stdout + forged.stderr);

  // A vote after the aggregator stopped: no checkpoint covers it.
  const late = (await castVote('receipt-late')).body.receipt as Receipt;
  const response = await fetch(`${base}/v1/receipts/${late.partition}/${late.offset}`);
  assert.equal(response.status, 404);
  assert.equal(((await response.json()) as { code: string }).code, 'TALLY_ERR_RECEIPT_PENDING');
});
