// Test tokens for the edge's Node tests, the bench and the smoke tests of a
// built bundle, minted by the npm package's wasm (sdk/js, the same Rust core
// and the same vectors). The module the Lambda ships cannot mint: it is built
// without the `mint` feature (edge/wasm/Cargo.toml), 26 KB smaller for it
// (docs/performance.md).
//
// The package's wasm is built here (sdk/js/scripts/build-wasm.sh) when it is
// missing; scripts/test-all.sh builds it afresh before the edge's tests.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

if (!existsSync(join(root, 'sdk/js/wasm/pkg/oncelink_sdk_wasm_bg.wasm'))) {
  // Its progress goes to stderr: the smoke tests' stdout is their record.
  execFileSync('bash', ['sdk/js/scripts/build-wasm.sh'], { cwd: root, stdio: ['ignore', 2, 2] });
}
const sdk = await import(pathToFileURL(join(root, 'sdk/js/index.js')).href);

/** The SDK's mint option for each claim (docs/token-v1.md; `password` becomes `pw`). */
const OPTION = {
  id: 'id',
  p: 'path',
  exp: 'exp',
  nbf: 'nbf',
  n: 'uses',
  r: 'region',
  ip: 'ip',
  fn: 'filename',
  g: 'grace',
  m: 'mode',
  password: 'password',
  b: 'bind',
  lk: 'lock_after',
  ref: 'ref',
};

/**
 * Mints a token with the active key of `keys` (the key file, as JSON text or
 * an object) carrying `claims` as the token names them, plus `password`.
 * `exp` may be in the past (an expired token): the SDK refuses to mint one
 * as of now, so it is minted as of the second before it expires.
 */
export function mintClaims(keys, claims) {
  const options = {};
  for (const [claim, value] of Object.entries(claims)) {
    const option = OPTION[claim];
    if (option === undefined) throw new Error(`mintClaims: no mint option for the claim ${claim}`);
    options[option] = value;
  }
  if (typeof claims.exp === 'number') options.now = Math.min(Math.floor(Date.now() / 1000), claims.exp - 1);
  return sdk.mint(keys, options);
}
