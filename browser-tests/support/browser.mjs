// Headless Chromium through playwright-core, using the system browser
// (Debian's /usr/bin/chromium, or $CHROMIUM_PATH): no browser download.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { decodePng, inkShare } from './png.mjs';

/** Bound for every Playwright wait (navigation, click, download). */
export const ACTION_TIMEOUT_MS = 20_000;

/** Launches headless Chromium. */
export async function launch() {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}

/**
 * A fresh context (its own cookies and cache, as a new visitor) that accepts
 * downloads, with a fixed viewport so screenshots are comparable.
 */
export async function newPage(browser) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 800, height: 520 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  return { context, page };
}

/**
 * Takes a screenshot to `path` and checks it rendered: a real PNG, not one
 * colour, with some ink on it. Returns the PNG bytes.
 */
export async function screenshot(page, path) {
  const bytes = await page.screenshot({ path });
  // Under 0.2% of pixels off the most common colour is a blank page (one
  // colour gives exactly 0).
  const ink = inkShare(decodePng(bytes));
  if (ink < 0.002) throw new Error(`${path} looks blank (${(ink * 100).toFixed(2)}% ink)`);
  return { bytes };
}

/** Copies a screenshot into docs/img/ when UPDATE_SCREENSHOTS=1. */
export function maybeUpdateDocImage(root, name, bytes) {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return false;
  writeFileSync(join(root, 'docs', 'img', name), bytes);
  return true;
}
