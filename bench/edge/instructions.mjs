#!/usr/bin/env node
// Instructions per `decide`, wasm core against the node:crypto baseline,
// counted by callgrind: a measure the machine's load does not move (the
// timings of bench.mjs do, by 2x on a shared machine). Instructions are not
// time (OpenSSL's SHA-256 uses the CPU's SHA extensions; the wasm does not),
// so this tells whether a change cut work, and bench.mjs on a quiet machine
// tells what it bought. Needs valgrind and edge/pkg (scripts/build-wasm.sh).
//
//   node bench/edge/instructions.mjs [--n N] [--pkg DIR]
//
// Each count runs N and 3N decisions in fresh processes and divides the
// difference by 2N, so start-up, compilation and tier-up cancel out. N
// defaults to 1000 (about 5 minutes in all on a quiet machine); at N = 100
// V8 was still tiering up inside the window and the counts read 2.7x (valid)
// and 2.6x (forged) the steady ones: keep N at 1000 or more.
//
// The counted node runs with V8's compilers on its main thread and fixed
// seeds (`V8_FLAGS` below): with background compilation, how much of the
// window ran before optimised code arrived depended on the machine's load,
// and two counts of one build differed by up to 20% (docs/performance.md,
// "Issue 18, fifth session: decide's time in wasm").

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};

if (process.argv[2] === '--run') {
  // One measured process: `--run PKG ours|js valid|forged N`.
  const [, , , pkg, who, which, n] = process.argv;
  const { createBaseline } = await import(pathToFileURL(join(here, 'baseline-js.mjs')).href);
  const w = await import(pathToFileURL(join(pkg, 'oncelink_edge_wasm.js')).href);
  w.initSync({ module: readFileSync(join(pkg, 'oncelink_edge_wasm_bg.wasm')) });
  const keys = { active: 'k1', keys: [{ kid: 'k1', secret: Buffer.alloc(32, 7).toString('base64url') }] };
  const config = { keys, home_region: 'us-east-1', origin: 'header' };
  const now = 1_800_000_000;
  // A module built without the `mint` feature cannot mint: the test tools' minter does.
  const mint = w.mint_token
    ? (claims) => w.mint_token(JSON.stringify(keys), JSON.stringify(claims))
    : (claims) => mintWith(keys, claims);
  const mintWith = w.mint_token ? null : (await import(pathToFileURL(join(root, 'edge/js/test/support/mint.mjs')).href)).mintClaims;
  const valid = mint({ id: 'AAAAAAAAAAAAAAAAAAAAAA', p: '/files/*', exp: now + 3600, n: 1 });
  const token = which === 'valid' ? valid : valid.slice(0, -2) + (valid.endsWith('AA') ? 'BA' : 'AA');
  // The request of bench.mjs.
  const request = { method: 'GET', path: '/files/report.pdf', query: `t=${token}`, headers: { 'user-agent': 'bench/1.0' }, ip: '198.51.100.7' };
  const validator = new w.Validator(JSON.stringify(config));
  const baseline = createBaseline(config);
  const decide = who === 'ours' ? () => JSON.parse(validator.decide(JSON.stringify(request), now)) : () => baseline(request, now);
  const step = decide();
  if (step.step !== (which === 'valid' ? 'need_store' : 'respond')) throw new Error(`unexpected step ${JSON.stringify(step)}`);
  for (let i = 1; i < Number(n); i++) decide();
} else {
  const n = Number(arg('--n', '1000'));
  const pkg = resolve(arg('--pkg', join(root, 'edge/pkg')));
  // Wasm straight to the optimising tier, every compile on the main thread,
  // fixed hash and random seeds: the same build counts the same.
  const V8_FLAGS = ['--no-liftoff', '--single-threaded', '--hash-seed=1', '--random-seed=1'];
  const count = (who, which, times) => {
    const out = join(tmpdir(), `oncelink-callgrind-${process.pid}`);
    const args = ['--tool=callgrind', '--smc-check=all', `--callgrind-out-file=${out}`, process.execPath, ...V8_FLAGS, '--no-warnings', fileURLToPath(import.meta.url), '--run', pkg, who, which, String(times)];
    const run = spawnSync('valgrind', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(out, { force: true });
    const collected = /Collected : (\d+)/.exec(run.stderr ?? '');
    if (run.status !== 0 || !collected) throw new Error(`valgrind failed (${run.error?.message ?? run.status}): ${(run.stderr ?? '').slice(-300)}`);
    return Number(collected[1]);
  };
  const perDecide = (who, which) => (count(who, which, 3 * n) - count(who, which, n)) / (2 * n);
  console.log(`instructions per decide (callgrind, (Ir(${3 * n}) - Ir(${n})) / ${2 * n}; node ${process.version}; ${pkg})\n`);
  console.log('| token | oncelink (wasm core) | baseline (node:crypto JS) | ratio |\n| --- | --- | --- | --- |');
  for (const which of ['valid', 'forged']) {
    const ours = perDecide('ours', which);
    const js = perDecide('js', which);
    console.log(`| ${which} | ${Math.round(ours)} | ${Math.round(js)} | ${(ours / js).toFixed(2)}× |`);
  }
}
