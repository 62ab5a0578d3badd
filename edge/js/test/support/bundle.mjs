// Builds the real bundle (scripts/build-bundle.mjs, the same code `npm run
// build` runs) with a test configuration into dist/test/<name>/ and imports it.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildBundle } from '../../../../scripts/build-bundle.mjs';
import { mintClaims } from './mint.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** A fresh key file: one active key of 32 random bytes. */
export function freshKeys() {
  return { active: 'k1', keys: [{ kid: 'k1', secret: randomBytes(32).toString('base64url') }] };
}

/** A test config: fresh keys, origin `header`, the given store. */
export function testConfig(store, validator = {}) {
  return {
    validator: { keys: freshKeys(), home_region: 'us-east-1', origin: 'header', ...validator },
    store: { table: 'oncelink-test', ...store },
  };
}

let serial = 0;
const created = [];
// Test bundles hold throw-away keys; remove them when this test process ends.
process.on('exit', () => {
  for (const dir of created) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.zip`, { force: true });
  }
});

/** Builds the bundle for `config` and imports its index.mjs (a new module instance each time). */
export async function buildAndImport(name, config) {
  const outDir = join(root, 'dist', 'test', `${name}-${process.pid}-${serial++}`);
  created.push(outDir);
  const built = await buildBundle({ config, outDir, zipPath: `${outDir}.zip`, quiet: true });
  const mod = await import(pathToFileURL(join(outDir, 'index.mjs')).href);
  return { mod, built, config };
}

/** Dummy credentials moto and the fault servers accept. */
export { LOCAL_ENV as TEST_ENV } from '../../dev/moto.mjs';

/**
 * Mints a token with the config's active key (by the npm package's wasm: the
 * bundle's cannot mint, see ./mint.mjs). `mod` is the bundle, unused: kept so
 * that every test mints as it did.
 */
export function mint(mod, config, claims) {
  return mintClaims(config.validator.keys, claims);
}

/** Collects the bundle's log lines (parsed) until `restore()`. */
export function captureLogs(mod) {
  const lines = [];
  const previous = mod.setLogSink((line) => lines.push(line));
  return { lines, parsed: () => lines.map((l) => JSON.parse(l)), restore: () => mod.setLogSink(previous) };
}
