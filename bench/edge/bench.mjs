#!/usr/bin/env node
// npm run bench: the Lambda@Edge handler's costs, measured in one run on this
// machine against baselines measured in the same run (ratios, not absolute
// claims). Needs edge/pkg (scripts/build-wasm.sh), moto (pip "moto[server]")
// and the devDependencies. Prints a markdown table.
//
//   node bench/edge/bench.mjs [--quick]
//
// Rows: per-request `decide` for a valid and a forged token (wasm core, JSON
// in and out, vs a hand-written node:crypto baseline); cold start (fresh
// process: import + wasm instantiate + first decision) for our bundle, the JS
// baseline, and our bundle's first consume vs the AWS SDK v3 client's first
// consume against moto; warm consume latency against moto; zip sizes; store
// requests per decision; the wasm's raw size. Each row shows issue 18's
// target beside its ratio.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildBundle } from '../../scripts/build-bundle.mjs';
import { zipBytes } from '../../scripts/zip.mjs';
import { createTable, LOCAL_ENV, startMoto } from '../../edge/js/dev/moto.mjs';
import { mintClaims } from '../../edge/js/test/support/mint.mjs';
import { createBaseline } from './baseline-js.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const quick = process.argv.includes('--quick');
const out = join(root, 'dist', 'bench');
const TABLE = 'oncelink-bench';
const DECIDE_ITERATIONS = quick ? 3000 : 27000;
const DECIDE_ROUNDS = quick ? 3 : 9;
const COLD_RUNS = quick ? 3 : 7;
const CONSUMES = quick ? 30 : 150;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, digits = 1) => x.toFixed(digits);

/** Mean microseconds per call of `fn` over `n` calls. */
function perCall(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

/**
 * Microseconds per call of each of `fns`, after a warm-up of each: `rounds`
 * rounds of `n` calls, the functions taken in turn within a round; the median
 * round of each.
 */
function interleaved(fns, rounds, n) {
  for (const fn of fns) for (let i = 0; i < 3000; i++) fn();
  const times = fns.map(() => []);
  for (let r = 0; r < rounds; r++) fns.forEach((fn, i) => times[i].push(perCall(fn, n)));
  return times.map(median);
}

/**
 * Runs `ours` and `theirs` (ES module bodies) each in a fresh node process
 * `runs` times, taking turns (which goes first alternates), each with the
 * environment `makeEnv()` adds. Returns the median ms each printed and the
 * median of the pairs' ratios: a machine whose speed drifts during the runs
 * moves both sides of a pair alike.
 */
function coldStarts(ours, theirs, runs, makeEnv = () => ({})) {
  const paths = [ours, theirs].map((script) => {
    const path = join(out, `cold-${randomBytes(4).toString('hex')}.mjs`);
    writeFileSync(path, script);
    return path;
  });
  const once = (path) => {
    const stdout = execFileSync(process.execPath, ['--no-warnings', path], { encoding: 'utf8', env: { ...process.env, ...LOCAL_ENV, ...makeEnv() } });
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    if (!result.ok) throw new Error(`cold start script did not decide as expected: ${stdout}`);
    return result.ms;
  };
  const times = [[], []];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) times[k].push(once(paths[k]));
  }
  return { ours: median(times[0]), theirs: median(times[1]), ratio: median(times[0].map((t, i) => t / times[1][i])) };
}

/**
 * The cold start's parts, each the median over `runs` fresh processes of
 * what `script` prints as `parts` (ms by name, in order).
 */
function coldParts(script, runs) {
  const path = join(out, `cold-${randomBytes(4).toString('hex')}.mjs`);
  writeFileSync(path, script);
  const all = [];
  for (let i = 0; i < runs; i++) {
    const stdout = execFileSync(process.execPath, ['--no-warnings', path], { encoding: 'utf8' });
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    if (!result.ok) throw new Error(`cold start script did not decide as expected: ${stdout}`);
    all.push(result.parts);
  }
  return Object.keys(all[0]).map((name) => [name, median(all.map((p) => p[name]))]);
}

async function esbuildBytes(entry) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'node20',
    minifyWhitespace: true, minifySyntax: true, legalComments: 'none', write: false, outfile: 'index.mjs', logLevel: 'silent',
  });
  return Buffer.from(result.outputFiles[0].contents);
}

async function main() {
  mkdirSync(out, { recursive: true });
  const moto = await startMoto();
  try {
    await createTable(moto.client, TABLE);
    const keys = { active: 'k1', keys: [{ kid: 'k1', secret: randomBytes(32).toString('base64url') }] };
    const validatorConfig = { keys, home_region: 'us-east-1', origin: 'header' };
    const config = { validator: validatorConfig, store: { table: TABLE, endpoint: moto.endpoint } };
    const bundleDir = join(out, 'ours');
    const built = await buildBundle({ config, outDir: bundleDir, zipPath: `${bundleDir}.zip`, quiet: true });
    const bundlePath = pathToFileURL(join(bundleDir, 'index.mjs')).href;
    const mod = await import(bundlePath);
    const wasm = await import(pathToFileURL(join(root, 'edge/pkg/oncelink_edge_wasm.js')).href);
    wasm.initSync({ module: readFileSync(join(root, 'edge/pkg/oncelink_edge_wasm_bg.wasm')) });

    const now = Math.floor(Date.now() / 1000);
    // The bundle cannot mint (edge/wasm/Cargo.toml, feature `mint`): the npm package's wasm does.
    const mint = (claims) => mintClaims(keys, { p: '/files/*', exp: now + 3600, ...claims });
    const valid = mint({ n: 1 });
    const forged = valid.slice(0, -2) + (valid.endsWith('AA') ? 'BA' : 'AA');
    const request = (token) => ({ method: 'GET', path: '/files/report.pdf', query: `t=${token}`, headers: { 'user-agent': 'bench/1.0' }, ip: '198.51.100.7' });

    // Both implementations must agree before they are timed.
    const validator = new wasm.Validator(JSON.stringify(validatorConfig));
    const baseline = createBaseline(validatorConfig);
    const oursDecide = (req) => JSON.parse(validator.decide(JSON.stringify(req), now));
    for (const [token, step, reason] of [[valid, 'need_store'], [forged, 'respond', 'bad_signature']]) {
      const a = oursDecide(request(token));
      const b = baseline(request(token), now);
      if (a.step !== step || b.step !== step || a.reason !== reason || b.reason !== reason) throw new Error(`implementations disagree on ${step}`);
      if (step === 'need_store' && JSON.stringify(a.pending.op) !== JSON.stringify(b.pending.op)) throw new Error(`ops differ: ${JSON.stringify(a.pending.op)} vs ${JSON.stringify(b.pending.op)}`);
    }
    const decideRows = [];
    for (const [label, token] of [['valid (n=1)', valid], ['forged', forged]]) {
      const req = request(token);
      // Interleaved rounds, median of each: a load that moves during the run
      // moves both alike (one long run of each read 1.8x apart from this).
      const [ours, js] = interleaved([() => oursDecide(req), () => baseline(req, now)], DECIDE_ROUNDS, DECIDE_ITERATIONS / DECIDE_ROUNDS);
      decideRows.push([`decide, ${label} token`, `${fmt(ours, 2)} µs`, `${fmt(js, 2)} µs (node:crypto JS)`, `${fmt(ours / js, 2)}×`]);
    }

    // Store requests per decision, counted at fetch.
    let fetches = 0;
    const counting = mod.createHandler({ env: LOCAL_ENV, fetch: (...a) => { fetches += 1; return fetch(...a); } });
    const event = (token, ua = 'bench/1.0') => ({ Records: [{ cf: { config: { requestId: 'bench' }, request: { clientIp: '198.51.100.7', method: 'GET', uri: '/files/report.pdf', querystring: `t=${token}`, headers: { 'user-agent': [{ key: 'User-Agent', value: ua }] } } } }] });
    const quiet = mod.setLogSink(() => {});
    const storeCounts = {};
    for (const [label, token] of [['forged', forged], ['expired', mint({ n: 1, exp: now - 3600 })], ['no use limit', mint({})], ['n=1, first use', mint({ n: 1 })]]) {
      fetches = 0;
      await counting(event(token));
      storeCounts[label] = fetches;
    }

    // Warm consume latency: our Rust-built request + fetch vs the SDK client.
    const { createSdkConsumer } = await import('./baseline-sdk.mjs');
    const sdk = createSdkConsumer({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: LOCAL_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_ENV.AWS_SECRET_ACCESS_KEY } });
    const warm = mod.createHandler({ env: LOCAL_ENV });
    const tokens = Array.from({ length: CONSUMES * 2 + 10 }, () => mint({ n: 1 }));
    const store = { table: TABLE, endpoint: moto.endpoint };
    const creds = { access_key_id: LOCAL_ENV.AWS_ACCESS_KEY_ID, secret_access_key: LOCAL_ENV.AWS_SECRET_ACCESS_KEY };
    const sdkInput = (token) => {
      const step = oursDecide(request(token));
      return [JSON.parse(JSON.parse(wasm.dynamodb_request(JSON.stringify(step.pending.op), JSON.stringify(store), JSON.stringify(creds), now)).body), step.pending.op.fp];
    };
    for (let i = 0; i < 5; i++) {
      await warm(event(tokens.pop()));
      await sdk.consume(...sdkInput(tokens.pop()));
    }
    let t0 = performance.now();
    for (let i = 0; i < CONSUMES; i++) {
      const r = await warm(event(tokens.pop()));
      if (r.status !== undefined) throw new Error(`consume failed: ${r.status}`);
    }
    const oursConsume = (performance.now() - t0) / CONSUMES;
    const inputs = Array.from({ length: CONSUMES }, () => sdkInput(tokens.pop()));
    t0 = performance.now();
    for (const input of inputs) {
      const r = await sdk.consume(...input);
      if (r.reply !== 'counted') throw new Error('sdk consume failed');
    }
    const sdkConsume = (performance.now() - t0) / CONSUMES;
    sdk.client.destroy();
    mod.setLogSink(quiet);

    // Cold starts, each in a fresh process.
    const cold = coldStarts(`
      const t0 = performance.now();
      const m = await import(${JSON.stringify(bundlePath)});
      m.setLogSink(() => {});
      const r = await m.handler(${JSON.stringify(event(forged))});
      console.log(JSON.stringify({ ms: performance.now() - t0, ok: r.status === '403' }));`, `
      const t0 = performance.now();
      const { createBaseline } = await import(${JSON.stringify(pathToFileURL(join(here, 'baseline-js.mjs')).href)});
      const d = createBaseline(${JSON.stringify(validatorConfig)});
      const r = d(${JSON.stringify(request(forged))}, ${now});
      console.log(JSON.stringify({ ms: performance.now() - t0, ok: r.reason === 'bad_signature' }));`, COLD_RUNS);
    // Where our cold start goes: the same wasm, step by step, node:fs taken as
    // the handler takes it (edge/js/builtin.mjs). V8 compiles wasm functions
    // lazily, at their first call, so the first validator and the first
    // decision include compiling what they run.
    const pkg = (f) => JSON.stringify(pathToFileURL(join(root, 'edge/pkg', f)).href);
    const parts = coldParts(`
      const t = [performance.now()];
      const { readFileSync } = process.getBuiltinModule('node:fs');
      const w = await import(${pkg('oncelink_edge_wasm.js')});
      t.push(performance.now());
      const bytes = readFileSync(new URL(${pkg('oncelink_edge_wasm_bg.wasm')}));
      t.push(performance.now());
      const module = new WebAssembly.Module(bytes);
      t.push(performance.now());
      w.initSync({ module });
      t.push(performance.now());
      const v = new w.Validator(${JSON.stringify(JSON.stringify(validatorConfig))});
      t.push(performance.now());
      const r = JSON.parse(v.decide(${JSON.stringify(JSON.stringify(request(forged)))}, ${now}));
      t.push(performance.now());
      const names = ['import the glue', 'read the wasm', 'compile', 'instantiate', 'validator_new', 'first decide'];
      console.log(JSON.stringify({ ok: r.reason === 'bad_signature', parts: Object.fromEntries(names.map((n, i) => [n, t[i + 1] - t[i]])) }));`, COLD_RUNS);

    // Each process gets a fresh link of its own (a consumed one would be refused).
    const coldStore = coldStarts(`
      const t0 = performance.now();
      const m = await import(${JSON.stringify(bundlePath)});
      m.setLogSink(() => {});
      const r = await m.handler(JSON.parse(process.env.BENCH_EVENT));
      console.log(JSON.stringify({ ms: performance.now() - t0, ok: r.status === undefined }));`, `
      const t0 = performance.now();
      const { readFileSync } = process.getBuiltinModule('node:fs');
      const w = await import(${JSON.stringify(pathToFileURL(join(root, 'edge/pkg/oncelink_edge_wasm.js')).href)});
      w.initSync({ module: readFileSync(${JSON.stringify(join(root, 'edge/pkg/oncelink_edge_wasm_bg.wasm'))}) });
      const v = new w.Validator(${JSON.stringify(JSON.stringify(validatorConfig))});
      const { createSdkConsumer } = await import(${JSON.stringify(pathToFileURL(join(here, 'baseline-sdk.mjs')).href)});
      const sdk = createSdkConsumer({ endpoint: ${JSON.stringify(moto.endpoint)}, region: 'us-east-1', credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY } });
      const req = JSON.parse(process.env.BENCH_REQUEST);
      const step = JSON.parse(v.decide(JSON.stringify(req), Math.floor(Date.now() / 1000)));
      const call = JSON.parse(w.dynamodb_request(JSON.stringify(step.pending.op), ${JSON.stringify(JSON.stringify(store))}, ${JSON.stringify(JSON.stringify(creds))}, Date.now() / 1000));
      const reply = await sdk.consume(JSON.parse(call.body), step.pending.op.fp);
      const fin = JSON.parse(v.resume(JSON.stringify(step.pending), JSON.stringify(reply)));
      sdk.client.destroy();
      console.log(JSON.stringify({ ms: performance.now() - t0, ok: fin.step === 'forward' }));`, COLD_RUNS, () => ({
      BENCH_EVENT: JSON.stringify(event(mint({ n: 1 }))),
      BENCH_REQUEST: JSON.stringify(request(mint({ n: 1 }))),
    }));

    // Zip sizes.
    const jsZip = zipBytes([{ name: 'index.mjs', data: await esbuildBytes(join(here, 'baseline-js.mjs')) }]).length;
    const sdkJs = await esbuildBytes(join(here, 'baseline-sdk.mjs'));
    const sdkZip = zipBytes([
      { name: 'index.mjs', data: readFileSync(join(bundleDir, 'index.mjs')) },
      { name: 'oncelink_edge_wasm_bg.wasm', data: readFileSync(join(bundleDir, 'oncelink_edge_wasm_bg.wasm')) },
      { name: 'sdk.mjs', data: sdkJs },
    ]).length;

    const wasmBytes = readFileSync(join(bundleDir, 'oncelink_edge_wasm_bg.wasm')).length;
    // The last column is issue 18's target for the row (docs/performance.md).
    const rows = [
      ['What', 'oncelink (wasm core)', 'Baseline', 'Ratio (ours / baseline)', 'Target (issue 18)'],
      ['---', '---', '---', '---', '---'],
      ...decideRows.map((r) => [...r, '≤ 1.0×']),
      // The two cold starts side by side: a refusal never loads the store's
      // transport (node:http/https, edge/js/transport.mjs), a first consume
      // pays for it, so the first row alone is not a first download's cold start.
      // Cold-start ratios: the median of the interleaved pairs' ratios (coldStarts).
      ['cold start: import + instantiate + first decision (forged token: no store, the transport not loaded)', `${fmt(cold.ours)} ms`, `${fmt(cold.theirs)} ms (pure JS, node:crypto)`, `${fmt(cold.ratio, 2)}×`, '≤ 1.5×'],
      ['cold start + first consume against moto (loads the transport: node:http/https)', `${fmt(coldStore.ours)} ms (Rust-built request + fetch)`, `${fmt(coldStore.theirs)} ms (wasm decide + AWS SDK v3 UpdateItem)`, `${fmt(coldStore.ratio, 2)}×`, ''],
      ['cold start, its parts (medians; edge/pkg, not the bundle)', parts.map(([n, ms]) => `${n} ${fmt(ms)} ms`).join('; '), '', '', ''],
      ['warm consume against moto (mean of ' + CONSUMES + ')', `${fmt(oursConsume, 2)} ms (whole handler)`, `${fmt(sdkConsume, 2)} ms (SDK UpdateItem only)`, `${fmt(oursConsume / sdkConsume, 2)}×`, ''],
      ['wasm (after wasm-opt), raw', `${wasmBytes} B`, '', '', `≤ 98304 B (96 KiB): ${fmt(wasmBytes / 98304, 2)}× of it`],
      ['Lambda@Edge zip (deflate, deterministic)', `${built.zipBytes} B`, `${jsZip} B (JS checks only) / ${sdkZip} B (ours + SDK client)`, `${fmt(built.zipBytes / jsZip, 1)}× / ${fmt(built.zipBytes / sdkZip, 2)}×`, `≤ 131072 B (128 KiB): ${fmt(built.zipBytes / 131072, 2)}× of it`],
      ['store requests per decision', Object.entries(storeCounts).map(([k, v]) => `${k}: ${v}`).join('; '), '', '', ''],
    ];
    const table = rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
    const header = `oncelink edge bench (${new Date().toISOString()}, node ${process.version}, ${quick ? 'quick' : 'full'}; decide: median of ${DECIDE_ROUNDS} interleaved rounds of ${DECIDE_ITERATIONS / DECIDE_ROUNDS} calls, cold starts: ${COLD_RUNS} fresh processes each, taking turns with the baseline's, medians and the median pair's ratio)`;
    console.log(`${header}\n\n${table}`);
    writeFileSync(join(out, 'edge.md'), `${header}\n\n${table}\n`);
    if (storeCounts.forged !== 0 || storeCounts.expired !== 0 || storeCounts['no use limit'] !== 0 || storeCounts['n=1, first use'] !== 1) {
      throw new Error(`unexpected store request counts ${JSON.stringify(storeCounts)}`);
    }
  } finally {
    await moto.stop();
  }
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
