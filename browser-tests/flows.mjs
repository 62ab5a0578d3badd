// The browser flows of docs/page-mode.md, run by a real headless Chromium
// against one deployment (origin-shim or the Lambda@Edge emulator; see the
// *.test.mjs files). Every link is minted with the `oncelink` CLI; every
// check is on what the browser or a plain HTTP client really received.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, maybeUpdateDocImage, newPage, screenshot } from './support/browser.mjs';
import { mint, outDir, root } from './support/servers.mjs';

/** The User-Agent Slack's link unfurler sends. */
export const SLACKBOT_UA = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)';
/** Per-test bound; every wait inside is bounded more tightly. */
const TEST_TIMEOUT_MS = 120_000;

/** The files every deployment serves: random bytes, so a mix-up cannot match. */
export const FILES = {
  'reports/q3.pdf': randomBytes(200 * 1024),
  'reports/plan.bin': randomBytes(64 * 1024),
  'reports/notes.txt': randomBytes(32 * 1024),
};

/** A download triggered by `action`: its suggested name and bytes. */
async function downloadBy(page, action) {
  const [download] = await Promise.all([page.waitForEvent('download'), action()]);
  // failure() first: path() throws for a failed download, which would hide the reason.
  const failure = await download.failure();
  assert.equal(failure, null, `download failed: ${failure}`);
  const path = await download.path();
  return { name: download.suggestedFilename(), bytes: readFileSync(path) };
}

/** Checks the headers docs/page-mode.md requires on every generated answer. */
function assertPageHeaders(headers, where) {
  assert.equal(headers['cache-control'], 'no-store', `${where}: cache-control`);
  assert.equal(headers['referrer-policy'], 'no-referrer', `${where}: referrer-policy`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${where}: nosniff`);
  assert.equal(headers['x-robots-tag'], 'noindex', `${where}: x-robots-tag`);
  assert.match(headers['content-security-policy'] ?? '', /default-src 'none'/, `${where}: CSP`);
  assert.match(headers['content-type'] ?? '', /^text\/html/, `${where}: a page`);
}

/**
 * Checks the reason code a generated answer names in `x-oncelink-reason`.
 * The Lambda@Edge handler always sends it, so behind the emulator it must be
 * there; origin-shim does not, and its answers are checked by their content.
 */
function assertReason(target, headers, code, where) {
  if (target.name === 'lambda-edge') assert.equal(headers['x-oncelink-reason'], code, `${where}: reason`);
}

/**
 * Opens `url` in `page` (of deployment `target`) and checks the answer: its status, the reason code
 * and the headers every generated page carries.
 */
async function open(target, page, url, status, reason, where) {
  const response = await page.goto(url);
  assert.equal(response.status(), status, where);
  const headers = await response.allHeaders();
  assertReason(target, headers, reason, where);
  assertPageHeaders(headers, where);
  return response;
}

/**
 * Registers the flows for a deployment. `start(files)` starts it and
 * resolves to { name, base, keys, stop() }.
 */
export function defineFlows(label, start) {
  describe(`page mode in Chromium against ${label}`, { timeout: 10 * TEST_TIMEOUT_MS }, () => {
    let target;
    let browser;
    before(async () => {
      target = await start(FILES);
      browser = await launch();
    });
    after(async () => {
      await browser?.close();
      await target?.stop();
    });

    const link = (opts) => mint({ keys: target.keys, base: target.base, ...opts }).url;

    it('shows the download page, downloads the file once, then shows the 410 page', { timeout: TEST_TIMEOUT_MS }, async () => {
      const name = 'Q3 report.pdf';
      const url = link({ path: '/reports/q3.pdf', uses: 1, filename: name, mode: 'page', ttl: '7d' });
      const { context, page } = await newPage(browser);
      try {
        await open(target, page, url, 200, 'page', 'the GET shows the download page');
        assert.ok(await page.getByText(name, { exact: true }).isVisible(), 'the file name is visible');
        const button = page.getByRole('button', { name: 'Download' });
        assert.ok(await button.isVisible(), 'the Download button is visible');
        const shot = await screenshot(page, join(outDir, `${target.name}-download-page.png`));
        if (target.name === 'origin-shim') maybeUpdateDocImage(root, 'download-page.png', shot.bytes);

        // Opening the page again consumes nothing: it is still the page.
        await open(target, page, url, 200, 'page', 'a second look at the page uses nothing');

        const got = await downloadBy(page, () => page.getByRole('button', { name: 'Download' }).click());
        assert.equal(got.name, name, 'the download carries the link’s file name');
        assert.ok(got.bytes.equals(FILES['reports/q3.pdf']), 'the downloaded bytes equal the file');

        await open(target, page, url, 410, 'used_up', 'reopened in the same browser after the download: 410');

        const { context: other, page: stranger } = await newPage(browser);
        try {
          await open(target, stranger, url, 410, 'used_up', 'reopened by another visitor: 410');
          const text = await stranger.locator('body').innerText();
          assert.match(text, /410/, 'the page says 410');
          assert.match(text, /used_up/, 'the page names the reason code');
          assert.equal(await stranger.getByRole('button', { name: 'Download' }).count(), 0, 'no Download button on the 410 page');
          const goneShot = await screenshot(stranger, join(outDir, `${target.name}-gone-page.png`));
          if (target.name === 'origin-shim') maybeUpdateDocImage(root, 'gone-page.png', goneShot.bytes);
        } finally {
          await other.close();
        }
      } finally {
        await context.close();
      }
    });

    it('asks for the password: a wrong one shows an error, the right one downloads', { timeout: TEST_TIMEOUT_MS }, async () => {
      const name = 'plan.bin';
      const password = 'correct horse battery staple';
      const url = link({ path: '/reports/plan.bin', uses: 1, filename: name, password });
      const { context, page } = await newPage(browser);
      try {
        await open(target, page, url, 200, 'page', 'a password link shows the page');
        assert.ok(await page.getByText(name, { exact: true }).isVisible(), 'the file name is visible');
        const field = page.getByLabel('Password');
        assert.ok(await field.isVisible(), 'the page asks for the password');
        await screenshot(page, join(outDir, `${target.name}-password-page.png`));

        await field.fill('Tr0ub4dor&3');
        const [answer] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Download' }).click(),
        ]);
        assert.equal(answer.status(), 403, 'a wrong password is refused');
        assertReason(target, await answer.allHeaders(), 'wrong_password', 'wrong password');
        await page.waitForLoadState();
        const status = page.getByRole('status');
        const message = await status.innerText();
        assert.match(message, /password/i, 'the error message is shown');
        assert.match(message, /not right|wrong|incorrect/i, 'the message says the password is wrong');
        // Guesses are throttled per network, not counted toward a lock (docs/page-mode.md,
        // "Throttling"): the default deployment threatens no lock.
        assert.doesNotMatch(message, /attempts? left|lock/i, 'no lock is counted down');
        await screenshot(page, join(outDir, `${target.name}-wrong-password.png`));

        await page.getByLabel('Password').fill(password);
        const got = await downloadBy(page, () => page.getByRole('button', { name: 'Download' }).click());
        assert.equal(got.name, name);
        assert.ok(got.bytes.equals(FILES['reports/plan.bin']), 'the downloaded bytes equal the file');
      } finally {
        await context.close();
      }
    });

    it('an unfurler fetching a direct n=1 link first leaves it usable for the browser', { timeout: TEST_TIMEOUT_MS }, async () => {
      const name = 'notes.txt';
      const url = link({ path: '/reports/notes.txt', uses: 1, filename: name, mode: 'direct' });
      for (const accept of ['text/html,application/xhtml+xml,*/*;q=0.8', 'application/json']) {
        const preview = await fetch(url, { headers: { 'user-agent': SLACKBOT_UA, accept } });
        assert.equal(preview.status, 200, 'the unfurler gets an answer');
        assertReason(target, Object.fromEntries(preview.headers), 'preview', 'unfurler');
        const body = Buffer.from(await preview.arrayBuffer());
        if (accept === 'application/json') {
          assert.equal(JSON.parse(body.toString('utf8')).result, 'preview', 'the JSON answer names the preview');
        } else {
          assert.match(preview.headers.get('content-type'), /^text\/html/);
        }
        assert.ok(!body.includes(FILES['reports/notes.txt'].subarray(0, 64)), 'the preview holds none of the file');
        assert.ok(!body.toString('utf8').includes(name), 'the preview does not name the file');
      }
      const { context, page } = await newPage(browser);
      try {
        const got = await downloadBy(page, () => page.goto(url).catch((err) => {
          // Navigating to a download aborts the navigation itself; the
          // download event is what counts.
          if (!/Download is starting|ERR_ABORTED/.test(err.message)) throw err;
        }));
        assert.equal(got.name, name);
        assert.ok(got.bytes.equals(FILES['reports/notes.txt']), 'the browser downloads the whole file after the unfurler');
      } finally {
        await context.close();
      }
      const later = await fetch(url, { headers: { 'user-agent': 'curl/8.5.0', accept: 'application/json' } });
      assert.equal(later.status, 410, 'the one use went to the browser');
      assert.equal((await later.json()).error, 'used_up');
    });
  });
}
