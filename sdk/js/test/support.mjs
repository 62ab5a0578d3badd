// The npm package's test harness: the package as a user gets it. `npm pack`
// builds the tarball (prepack builds the wasm), a scratch project installs it,
// and the tests import `oncelink` from that project, never from the source
// folder. scripts/test-sdk-js.sh packs once and passes the project in
// $ONCELINK_SDK_JS_PROJECT; a test file run alone packs for itself.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const sdkDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const root = resolve(sdkDir, '../..');

/** Packs sdk/js and installs the tarball into a new scratch project; returns { project, tarball }. */
export function packAndInstall() {
  const dir = mkdtempSync(join(tmpdir(), 'oncelink-sdk-js-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: sdkDir, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')));
  const project = join(dir, 'project');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sdk-user', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--silent', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project, stdio: ['ignore', 'ignore', 'inherit'] });
  return { project, tarball };
}

function installed() {
  const project = process.env.ONCELINK_SDK_JS_PROJECT;
  return project ? { project, tarball: process.env.ONCELINK_SDK_JS_TARBALL } : packAndInstall();
}

export const { project, tarball } = installed();
/** The package, imported from the scratch project's node_modules. */
export const oncelink = await import(pathToFileURL(join(project, 'node_modules', 'oncelink', 'index.js')).href);

export const readJson = (rel) => JSON.parse(readFileSync(join(root, rel), 'utf8'));
