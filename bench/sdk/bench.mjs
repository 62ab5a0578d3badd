#!/usr/bin/env node
// npm run bench:sdk (part of npm run bench): the npm package's cost per call
// of mint and verify, against a hand-written node:crypto implementation
// measured in the same run (ratios, not absolute claims). Builds the
// package's wasm first when it is missing. Prints a markdown table.
//
//   node bench/sdk/bench.mjs [--quick]
//
// The baselines: mint is JSON.stringify + base64url + HMAC-SHA256 (what an
// app re-implementing docs/token-v1.md would write; no claim checks), verify
// is bench/edge/baseline-js.mjs's hand-written decide (signature, claims,
// time, path), the same checks the package's verify runs through the core.

import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBaseline } from '../edge/baseline-js.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quick = process.argv.includes('--quick');
const N = quick ? 2000 : 20000;

if (!existsSync(join(root, 'sdk/js/wasm/pkg/oncelink_sdk_wasm_bg.wasm'))) {
  execFileSync('bash', [join(root, 'sdk/js/scripts/build-wasm.sh')], { stdio: 'inherit' });
}
const sdk = await import(join(root, 'sdk/js/index.js'));

const ROUNDS = 11;

/**
 * Mean microseconds per call of `ours` and of `base` (or null), after a
 * warm-up: ROUNDS rounds of n / ROUNDS calls, the two interleaved round by
 * round so both see the same machine load; the median round of each.
 */
function perCall(ours, base, n) {
  const fns = base ? [ours, base] : [ours];
  for (const fn of fns) for (let i = 0; i < Math.min(2000, n); i++) fn();
  const rounds = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    fns.forEach((fn, k) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n / ROUNDS; i++) fn();
      rounds[k].push(Number(process.hrtime.bigint() - t0) / 1000 / Math.floor(n / ROUNDS));
    });
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [median(rounds[0]), base ? median(rounds[1]) : null];
}

const keysText = sdk.keygen();
const keys = JSON.parse(keysText);
const secret = Buffer.from(keys.keys[0].secret, 'base64url');
const now = Math.floor(Date.now() / 1000);
const path = '/reports/q3.pdf';

function mintByHand(claims) {
  const signed = `ol1.k1.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

const byHand = createBaseline({ keys, home_region: 'us-east-1' });
const token = sdk.mint(keysText, { path, uses: 1, ttl: '1h' });
const handToken = mintByHand({ id: randomBytes(16).toString('base64url'), p: path, exp: now + 3600, n: 1 });
if (sdk.verify(keysText, handToken).valid !== true) throw new Error('the hand-written mint is not a valid token');
if (byHand({ method: 'GET', path, query: `t=${token}`, headers: {}, ip: '203.0.113.9' }, now).step !== 'need_store') {
  throw new Error('the hand-written verify does not accept the package token');
}

const request = (t) => ({ method: 'GET', path, query: `t=${t}`, headers: {}, ip: '203.0.113.9' });
const forged = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
const rows = [
  ['mint (uses 1, ttl 1h)', ...perCall(() => sdk.mint(keysText, { path, uses: 1, ttl: '1h' }),
    () => mintByHand({ id: randomBytes(16).toString('base64url'), p: path, exp: Math.floor(Date.now() / 1000) + 3600, n: 1 }), N)],
  ['mint, keys as an object', ...perCall(() => sdk.mint(keys, { path, uses: 1, ttl: '1h' }), null, N)],
  ['verify (valid)', ...perCall(() => sdk.verify(keysText, token, { path }), () => byHand(request(token), Math.floor(Date.now() / 1000)), N)],
  ['verify (forged signature)', ...perCall(() => sdk.verify(keysText, forged, { path }), () => byHand(request(forged), Math.floor(Date.now() / 1000)), N)],
];

console.log(`## npm package oncelink: cost per call (Node ${process.version}, ${N} calls, median of ${ROUNDS} interleaved rounds)\n`);
console.log('| call | oncelink (wasm) µs | hand-written node:crypto µs | ratio |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, ours, base] of rows) {
  console.log(`| ${name} | ${ours.toFixed(2)} | ${base === null ? '–' : base.toFixed(2)} | ${base === null ? '–' : `${(ours / base).toFixed(1)}×`} |`);
}
