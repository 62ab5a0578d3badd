// The send page (docs/sends.md) in headless Chromium against origin-shim
// `serve --sends-dir`: sign in with an API key, pick a file, upload it with
// the page's progress bar, get the link; another visitor downloads the file
// once, and a second open (another client) is 410.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, maybeUpdateDocImage, newPage, screenshot } from './support/browser.mjs';
import { binDir, keygen, oncelink, outDir, root, scratch, spawnServer } from './support/servers.mjs';

const TEST_TIMEOUT_MS = 120_000;
/** Random bytes: a mix-up cannot match; large enough for several progress events. */
const FILE = randomBytes(3 * 1024 * 1024);

describe('the send page (origin-shim --sends-dir)', () => {
  let dir;
  let server;
  let browser;
  let apiKey;

  before(async () => {
    dir = scratch('send-page');
    const site = join(dir, 'files');
    mkdirSync(join(site, 'sends'), { recursive: true });
    const keys = keygen(dir);
    const apiKeys = join(dir, 'api-keys');
    apiKey = oncelink(['apikey', 'new', '--name', 'browser', '--file', apiKeys]).trim();
    server = await spawnServer(
      'origin-shim',
      join(binDir(), 'origin-shim'),
      ['serve', '--keys', keys, '--root', site, '--store', `sqlite:${join(dir, 'oncelink.db')}`, '--create-store',
        '--sends-dir', join(site, 'sends'), '--api-keys', apiKeys, '--listen', '127.0.0.1:0'],
      /^listening on (http:\/\/127\.0\.0\.1:\d+)$/,
    );
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, uploads with progress, shows the link; the link downloads once, then 410', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { context, page } = await newPage(browser);
    let url;
    try {
      const scriptErrors = [];
      page.on('pageerror', (err) => scriptErrors.push(err.message));
      page.on('console', (msg) => {
        // Not "Failed to load resource": the wrong key's 401 and /favicon.ico (no token: 403) are meant.
        if (msg.type() === 'error' && /Content Security Policy|Refused|Uncaught/.test(msg.text())) scriptErrors.push(msg.text());
      });

      await page.goto(`${server.base}/send`);
      await page.getByLabel('API key').fill('olk_not-the-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('That API key is not valid.').waitFor();
      assert.equal((await context.cookies()).length, 0, 'a wrong key sets no cookie');

      await page.getByLabel('API key').fill(apiKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#send').waitFor();
      const [cookie] = await context.cookies();
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');

      const upload = join(dir, 'holiday.bin');
      writeFileSync(upload, FILE);
      await page.setInputFiles('#file', upload);
      await page.getByLabel('Uses').fill('1');
      await page.getByLabel('Expires in').selectOption('3600');
      mkdirSync(outDir, { recursive: true });
      const form = await screenshot(page, join(outDir, 'send-form.png'));
      maybeUpdateDocImage(root, 'send-form.png', form.bytes);

      await page.getByRole('button', { name: 'Upload and get the link' }).click();
      await page.getByText('Done.').waitFor();
      assert.equal(await page.locator('#progress').evaluate((p) => p.value), 100, 'the progress bar is full');
      url = await page.locator('#link').inputValue();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/sends\//);
      const result = await screenshot(page, join(outDir, 'send-result.png'));
      maybeUpdateDocImage(root, 'send-result.png', result.bytes);
      assert.deepEqual(scriptErrors, [], 'no script or CSP errors on the page');
    } finally {
      await context.close();
    }

    const visitor = await newPage(browser);
    try {
      const [download] = await Promise.all([
        visitor.page.waitForEvent('download'),
        visitor.page.goto(url).catch((err) => {
          if (!/Download is starting|ERR_ABORTED/.test(err.message)) throw err;
        }),
      ]);
      assert.equal(await download.failure(), null);
      assert.equal(download.suggestedFilename(), 'holiday.bin');
      assert.ok(readFileSync(await download.path()).equals(FILE), 'the visitor downloads exactly the file');
    } finally {
      await visitor.context.close();
    }
    // Another client (the same browser and address inside the grace would be a resume).
    const later = await fetch(url, { headers: { 'user-agent': 'curl/8.5.0', accept: 'application/json' } });
    assert.equal(later.status, 410, 'a second open is gone');
    assert.equal((await later.json()).error, 'used_up');
  });
});
