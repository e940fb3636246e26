// Integration: Kafka, PostgreSQL, Redis, Chromium
// The /receipt page in a real headless browser (Debian's chromium, playwright-core): records in
// the votes topic and a checkpoint whose Merkle root this test computes itself (RFC 6962, written
// here); the page fetches the proof from the broadcaster and checks it with WebCrypto, step by
// step: proven for the right leaf, not proven for a flipped byte, pending for an uncovered offset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createKafka } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';
import { createTestTopics, deleteTestTopics } from '../support/test-topics.js';
import { deleteCheckpointsOf } from '../verify/support/checkpoint-admin.js';
import { broadcastFixture } from './support/broadcast-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_DIR = new URL('../../test-results/', import.meta.url); // dist/test-results/
const fx = broadcastFixture('broadcast-receipt', { TALLY_VOTES_PARTITIONS: '1' });
const userDataDir = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
const RECORDS = 7;
let browser: BrowserContext;
const leaves: string[] = [];

const sha256 = (...parts: Buffer[]) => parts.reduce((h, part) => h.update(part), createHash('sha256')).digest();
function leafHash(offset: number, value: Buffer): Buffer {
  const o = Buffer.alloc(8);
  o.writeBigInt64BE(BigInt(offset));
  return sha256(Buffer.from([0]), o, value);
}
function mth(hashes: Buffer[]): Buffer {
  if (hashes.length === 1) return hashes[0]!;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return sha256(Buffer.from([1]), mth(hashes.slice(0, k)), mth(hashes.slice(k)));
}

before(async () => {
  await fx.setUp('Receipt page', [{ title: 'Pick one', options: ['Red', 'Blue'] }]);
  const { config } = fx;
  await createTestTopics(config);
  const producer = createKafka(config, 'receipt-page-test', createLogger('test', config)).producer();
  await producer.connect();
  const values = Array.from({ length: RECORDS }, (_, i) => Buffer.from(`record ${i} of the receipt page test`));
  await producer.send({ topic: config.kafka.votesTopic, acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
  await producer.disconnect();
  const hashes = values.map((value, offset) => leafHash(offset, value));
  leaves.push(...hashes.map((h) => h.toString('hex')));
  // A checkpoint over offsets 0..5; offset 6 stays uncovered.
  await fx.pool.query(
    `INSERT INTO audit_checkpoints (topic, partition, first_offset, last_offset, records, chain_head, tallies_digest, merkle_root)
     VALUES ($1, 0, 0, 5, 6, $2, 'digest', $3)`,
    [config.kafka.votesTopic, 'c'.repeat(64), mth(hashes.slice(0, 6)).toString('hex')],
  );
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 800 },
  });
});

after(async () => {
  await browser?.close();
  await deleteCheckpointsOf(fx.config.postgres.adminUrl, fx.config.kafka.votesTopic);
  await deleteTestTopics(fx.config);
  await fx.tearDown();
  rmSync(userDataDir, { recursive: true, force: true });
});

async function checkOnPage(page: Page, receipt: unknown): Promise<{ verdict: string; steps: string[] }> {
  await page.fill('#receipt', JSON.stringify(receipt));
  await page.click('#check');
  await page.waitForFunction(() => !['waiting', 'checking'].includes(document.getElementById('verdict')!.textContent ?? ''), undefined, { timeout: 60_000 });
  return { verdict: (await page.textContent('#verdict'))!, steps: await page.$$eval('#steps li', (items) => items.map((li) => li.textContent ?? '')) };
}

test('the receipt page proves a receipt with WebCrypto, step by step, and refuses a flipped byte', async (t) => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(fx.url('/receipt'));
  const receipt = { topic: fx.config.kafka.votesTopic, partition: 0, offset: '4', leafHash: leaves[4]! };

  const proven = await checkOnPage(page, { voteId: 'x', receipt }); // the whole 202 body works too
  assert.equal(proven.verdict, 'proven', proven.steps.join('\n'));
  // leaf 4 of 6: sibling leaf 5, then the root of leaves 0..3: two levels.
  assert.equal(proven.steps.filter((s) => s.startsWith('level ')).length, 2, proven.steps.join('\n'));
  assert.match(proven.steps.at(-1)!, /published checkpoint/);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const screenshot = new URL('receipt.png', SCREENSHOT_DIR);
  await page.screenshot({ path: screenshot.pathname, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot.pathname}`);

  const flipped = `${receipt.leafHash.slice(0, 10)}${receipt.leafHash[10] === '0' ? '1' : '0'}${receipt.leafHash.slice(11)}`;
  assert.equal((await checkOnPage(page, { ...receipt, leafHash: flipped })).verdict, 'not proven');
  // Offset 0 (first leaf, longest path) proves too.
  assert.equal((await checkOnPage(page, { ...receipt, offset: '0', leafHash: leaves[0]! })).verdict, 'proven');
  // Offset 6 is in the log but no checkpoint covers it yet.
  const pending = await checkOnPage(page, { ...receipt, offset: '6', leafHash: leaves[6]! });
  assert.equal(pending.verdict, 'pending', pending.steps.join('\n'));
  assert.deepEqual(pageErrors, []);
});
