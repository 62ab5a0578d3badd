#!/usr/bin/env node
// Builds of the edge's wasm side by side, wall clock, in one run: decide
// (valid n=1 and forged, JSON in and out as the handler calls it) for each
// build and for the node:crypto baseline, all in one process and
// interleaved round by round; then the cold start (import, compile,
// instantiate, first validator, first decision) in fresh processes,
// interleaved too. Interleaving is what makes two builds comparable on a
// machine whose load moves: each round sees the same load for every build.
//
//   node bench/edge/compare.mjs DIR [DIR...] [--rounds R] [--calls N] [--cold K]
//
// DIR holds a build of edge/wasm (oncelink_edge_wasm.js and _bg.wasm), e.g.
// `bash scripts/build-wasm.sh oncelink-edge-wasm /tmp/pkg-b --config
// 'profile.wasm-release.package.oncelink-edge.opt-level=2'`. Prints, per build,
// the median over R rounds of the mean µs per call (N calls a round) and its
// ratio to the baseline's median; the same for the wasm call alone (the
// request's JSON text made once, the step's text not parsed: what is left if
// the JS side of the JSON boundary cost nothing); and the median cold start of
// K processes.

import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  if (i === -1) return fallback;
  const [, value] = argv.splice(i, 2);
  return Number(value);
};
const rounds = option('--rounds', 9);
const calls = option('--calls', 3000);
const coldRuns = option('--cold', 9);
const dirs = argv.map((d) => resolve(d));
if (dirs.length === 0) {
  console.error('usage: node bench/edge/compare.mjs DIR [DIR...] [--rounds R] [--calls N] [--cold K]');
  process.exit(2);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const keys = { active: 'k1', keys: [{ kid: 'k1', secret: Buffer.alloc(32, 7).toString('base64url') }] };
const config = { keys, home_region: 'us-east-1', origin: 'header' };
const now = 1_800_000_000;
const { mintClaims } = await import(pathToFileURL(join(root, 'edge/js/test/support/mint.mjs')).href);
const { createBaseline } = await import(pathToFileURL(join(here, 'baseline-js.mjs')).href);
const valid = mintClaims(keys, { id: 'AAAAAAAAAAAAAAAAAAAAAA', p: '/files/*', exp: now + 3600, n: 1 });
const forged = valid.slice(0, -2) + (valid.endsWith('AA') ? 'BA' : 'AA');
const request = (token) => ({ method: 'GET', path: '/files/report.pdf', query: `t=${token}`, headers: { 'user-agent': 'bench/1.0' }, ip: '198.51.100.7' });

// Every build, and the baseline, as one `decide(request)` each; a build also
// as its wasm call alone (Validator.decide on text, nothing parsed).
const runners = [['baseline (node:crypto JS)', ((b) => (req) => b(req, now))(createBaseline(config)), null]];
for (const dir of dirs) {
  // A query string makes each build a module of its own even if two dirs hold the same glue.
  const w = await import(`${pathToFileURL(join(dir, 'oncelink_edge_wasm.js')).href}?${runners.length}`);
  w.initSync({ module: readFileSync(join(dir, 'oncelink_edge_wasm_bg.wasm')) });
  const v = new w.Validator(JSON.stringify(config));
  runners.push([dir, (req) => JSON.parse(v.decide(JSON.stringify(req), now)), (text) => v.decide(text, now)]);
}
for (const [name, decide] of runners) {
  const steps = [decide(request(valid)).step, decide(request(forged)).reason];
  if (steps[0] !== 'need_store' || steps[1] !== 'bad_signature') throw new Error(`${name} decided ${steps}`);
}

const perCall = (fn, req) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn(req);
  return Number(process.hrtime.bigint() - t0) / 1000 / calls;
};
const texts = { valid: JSON.stringify(request(valid)), forged: JSON.stringify(request(forged)) };
const times = runners.map(() => ({ valid: [], forged: [], aloneValid: [], aloneForged: [] }));
for (const [, fn] of runners) for (let i = 0; i < 3000; i++) fn(request(valid)), fn(request(forged));
for (let r = 0; r < rounds; r++) {
  runners.forEach(([, fn, alone], i) => {
    times[i].valid.push(perCall(fn, request(valid)));
    times[i].forged.push(perCall(fn, request(forged)));
    if (alone) {
      times[i].aloneValid.push(perCall(alone, texts.valid));
      times[i].aloneForged.push(perCall(alone, texts.forged));
    }
  });
}

// Cold starts: a fresh process per run, the builds (and the baseline) in turn.
const coldScript = (dir) => `
  const t0 = performance.now();
  const { readFileSync } = process.getBuiltinModule('node:fs');
  const w = await import(${JSON.stringify(pathToFileURL(join(dir, 'oncelink_edge_wasm.js')).href)});
  w.initSync({ module: new WebAssembly.Module(readFileSync(${JSON.stringify(join(dir, 'oncelink_edge_wasm_bg.wasm'))})) });
  const v = new w.Validator(${JSON.stringify(JSON.stringify(config))});
  const r = JSON.parse(v.decide(${JSON.stringify(JSON.stringify(request(forged)))}, ${now}));
  console.log(JSON.stringify({ ms: performance.now() - t0, ok: r.reason === 'bad_signature' }));`;
const coldBaseline = `
  const t0 = performance.now();
  const { createBaseline } = await import(${JSON.stringify(pathToFileURL(join(here, 'baseline-js.mjs')).href)});
  const r = createBaseline(${JSON.stringify(config)})(${JSON.stringify(request(forged))}, ${now});
  console.log(JSON.stringify({ ms: performance.now() - t0, ok: r.reason === 'bad_signature' }));`;
const scripts = [coldBaseline, ...dirs.map(coldScript)];
const cold = scripts.map(() => []);
for (let k = 0; k < coldRuns; k++) {
  scripts.forEach((script, i) => {
    const out = execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').at(-1));
    if (!result.ok) throw new Error(`cold start of ${runners[i][0]} did not decide as expected`);
    cold[i].push(result.ms);
  });
}

const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`decide: median of ${rounds} interleaved rounds of ${calls} calls; cold start: median of ${coldRuns} processes; node ${process.version}; load average after: ${load}\n`);
console.log('| build | wasm bytes | valid µs | ratio | forged µs | ratio | valid, wasm call alone | forged, wasm call alone | cold start ms | ratio |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const base = { valid: median(times[0].valid), forged: median(times[0].forged), cold: median(cold[0]) };
runners.forEach(([name], i) => {
  const bytes = i === 0 ? '' : statSync(join(dirs[i - 1], 'oncelink_edge_wasm_bg.wasm')).size;
  const [v, f, c] = [median(times[i].valid), median(times[i].forged), median(cold[i])];
  const aloneCell = (xs, b) => (xs.length ? `${median(xs).toFixed(2)} µs, ${(median(xs) / b).toFixed(2)}×` : '');
  console.log(`| ${name} | ${bytes} | ${v.toFixed(2)} | ${(v / base.valid).toFixed(2)}× | ${f.toFixed(2)} | ${(f / base.forged).toFixed(2)}× | ${aloneCell(times[i].aloneValid, base.valid)} | ${aloneCell(times[i].aloneForged, base.forged)} | ${c.toFixed(1)} | ${(c / base.cold).toFixed(2)}× |`);
});
