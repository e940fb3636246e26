// Integration: PostgreSQL, Redis, Chromium
// The dashboard in a real headless browser (Debian's chromium driven by playwright-core): it loads,
// shows the survey, follows partials as they arrive, shows a reconnect while the broadcaster
// restarts, and leaves a screenshot in dist/test-results/ (gitignored) for a human to look at.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { sleep } from '../support/wait.js';
import { broadcastFixture } from './support/broadcast-fixture.js';
import { partial, publishPartial } from './support/survey-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_DIR = new URL('../../test-results/', import.meta.url); // dist/test-results/
const fx = broadcastFixture('broadcast-dashboard', { TALLY_WINDOW_MS: '200' });
const { redis } = fx;
const userDataDir = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
let browser: BrowserContext;

before(async () => {
  await fx.setUp('Elections Survey', [
    { title: 'Who would you vote for president?', options: ['Homer Simpson', 'Ned Flanders', 'Marge Simpson'] },
    { title: 'Who would you vote for minister?', options: ['Montgomery Burns', 'Sideshow Bob'] },
  ]);
  // A fresh user data dir per run (a persistent context is how playwright takes one).
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 760 },
  });
});

after(async () => {
  await browser?.close();
  await fx.tearDown();
  rmSync(userDataDir, { recursive: true, force: true });
});

test('the dashboard shows live counts, follows partials, and shows reconnecting while the server restarts', async (t) => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const { survey } = fx;
  await page.goto(fx.url(`/dashboard/${survey.id}`));
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live');
  assert.equal(await page.textContent('#title'), 'Elections Survey');
  assert.equal(await page.textContent('#total'), '0');

  const [president, minister] = survey.questions;
  const [homer, ned, marge] = president!.options;
  const [burns, bob] = minister!.options;
  // Votes/minute reads the last complete minute: keep the minute from turning during the checks.
  if (60_000 - (Date.now() % 60_000) < 5000) await sleep(60_000 - (Date.now() % 60_000) + 50);
  const minute = Math.floor(Date.now() / 60000);
  await publishPartial(redis, partial(survey.id, 0, 1200, {
    responses: 1200,
    votes: { [president!.id]: { [homer!.id]: 610, [ned!.id]: 420, [marge!.id]: 170 }, [minister!.id]: { [burns!.id]: 500, [bob!.id]: 650 } },
    minutes: { [String(minute - 2)]: 300, [String(minute - 1)]: 480, [String(minute)]: 420 },
  }));
  await page.waitForFunction(() => document.getElementById('total')?.textContent === '1,200', undefined, { timeout: 20_000 });
  assert.equal(await page.textContent('#rate'), '480', 'votes in the last complete minute');
  const homerRow = `[data-option-id="${homer!.id}"]`;
  assert.equal(await page.textContent(`${homerRow} .votes`), '610');
  assert.equal(await page.textContent(`${homerRow} .pct`), '51%');

  // A second partition of the same survey adds to the counts.
  await publishPartial(redis, partial(survey.id, 1, 300, { responses: 300, votes: { [president!.id]: { [ned!.id]: 300 } }, minutes: { [String(minute)]: 300 } }));
  await page.waitForFunction(() => document.getElementById('total')?.textContent === '1,500', undefined, { timeout: 20_000 });
  assert.equal(await page.textContent(`[data-option-id="${ned!.id}"] .votes`), '720');
  assert.ok(await page.$eval(`[data-option-id="${ned!.id}"]`, (row) => row.classList.contains('leading')), 'the leading option is highlighted');

  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const screenshot = new URL('dashboard.png', SCREENSHOT_DIR);
  await page.waitForTimeout(500); // let the bar transition finish
  await page.screenshot({ path: screenshot.pathname, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot.pathname}`);

  // The broadcaster restarts on the same port: the page shows it, then comes back live by itself.
  const port = fx.server.port;
  await fx.server.close();
  await page.waitForFunction(() => document.getElementById('status')?.textContent !== 'live', undefined, { timeout: 20_000 });
  const during = await page.textContent('#status');
  assert.match(String(during), /reconnecting|offline/);
  await fx.startServer({ ...fx.config, ports: { ...fx.config.ports, broadcast: port } });
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 20_000 });
  assert.equal(await page.textContent('#total'), '1,500');
  assert.deepEqual(pageErrors, []);
});
