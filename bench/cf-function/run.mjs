#!/usr/bin/env node
// Per-request cost of the CloudFront Function against the wasm `decide`, on
// the same requests: every case of edge/vectors/decide.json. Both run in this
// Node process, measured in the same run, and reported as a ratio.
//
//   node bench/cf-function/run.mjs [--rounds N] [--json]
//
// What is timed, per request:
// - function: `handler(event)` of the minified "only" build in a vm context,
//   KeyValueStore read included, once with every built-in (the number to
//   compare) and once in the restricted test runtime (test/runtime.mjs),
//   whose deleted built-ins push V8 off its fast paths;
// - wasm: what a host does around the core: JSON.stringify(request),
//   Validator.decide, JSON.parse(step) (edge/pkg, `bash scripts/build-wasm.sh`).
// The absolute numbers are V8's; CloudFront Functions run on another engine
// and are billed per invocation, not per millisecond (docs/cloudfront-functions.md).

import { performance } from 'node:perf_hooks';
import { loadCore } from '../../edge/cloudfront-function/test/core.mjs';
import { caseConfig, caseRequest, loadDecideVectors, loadFor } from '../../edge/cloudfront-function/test/vectors.mjs';
import { eventFor } from '../../edge/cloudfront-function/test/runtime.mjs';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 15) || 15;
const REPEAT = 40; // passes over the case list per round
const asJson = args.includes('--json');

const doc = loadDecideVectors();
const core = await loadCore().catch((e) => {
  console.error(`bench cf-function: ${e.message}`);
  process.exit(1);
});

// A function-only deployment cannot issue origin grants, and no function is
// built with page mode as the default (the build refuses both configs), so
// the cases that configure grant_keys or default_mode page are not timed.
const cases = doc.cases
  .map((testCase) => {
    const config = caseConfig(doc, testCase);
    return { testCase, config, request: caseRequest(testCase), key: JSON.stringify(config) };
  })
  .filter((c) => c.config.grant_keys == null && c.config.default_mode !== 'page');
const validators = new Map();
const functions = { restricted: new Map(), plain: new Map() };
for (const c of cases) {
  if (!validators.has(c.key)) {
    validators.set(c.key, new core.Validator(c.key));
    functions.restricted.set(c.key, loadFor('only', c.config, 'minified', true).run);
    functions.plain.set(c.key, loadFor('only', c.config, 'minified', false).run);
  }
}

async function timeFunction(which) {
  // Fresh events, built inside the function's context before the clock starts:
  // the function edits the request it lets through.
  const events = [];
  for (let r = 0; r < REPEAT; r++) for (const c of cases) events.push(functions[which].get(c.key).inside(eventFor(c.request)));
  let i = 0;
  let sink = 0;
  const start = performance.now();
  for (let r = 0; r < REPEAT; r++) {
    for (const c of cases) {
      const run = functions[which].get(c.key);
      run.setNow(c.testCase.now);
      const out = await run.handler(events[i++]);
      sink += out.statusCode ?? 1;
    }
  }
  const perRequest = ((performance.now() - start) * 1e3) / events.length;
  if (sink === 0) throw new Error('nothing decided');
  return perRequest;
}

function timeWasm() {
  let sink = 0;
  const start = performance.now();
  for (let r = 0; r < REPEAT; r++) {
    for (const c of cases) {
      const step = JSON.parse(validators.get(c.key).decide(JSON.stringify(c.request), c.testCase.now));
      sink += step.step.length;
    }
  }
  const perRequest = ((performance.now() - start) * 1e3) / (REPEAT * cases.length);
  if (sink === 0) throw new Error('nothing decided');
  return perRequest;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await timeFunction('restricted');
await timeFunction('plain');
timeWasm();
const samples = { restricted: [], plain: [], wasm: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order so no side always runs on a warmer machine.
  const order = [['restricted', 'plain', 'wasm'], ['wasm', 'restricted', 'plain'], ['plain', 'wasm', 'restricted']][round % 3];
  for (const which of order) {
    samples[which].push(which === 'wasm' ? timeWasm() : await timeFunction(which));
  }
}
const [restricted, plain, wasm] = [median(samples.restricted), median(samples.plain), median(samples.wasm)];
const result = {
  requests_per_round: REPEAT * cases.length,
  rounds: ROUNDS,
  wasm_decide_us_per_request: Number(wasm.toFixed(2)),
  function_us_per_request: Number(plain.toFixed(2)),
  function_restricted_runtime_us_per_request: Number(restricted.toFixed(2)),
  ratio_function_over_wasm: Number((plain / wasm).toFixed(2)),
  ratio_restricted_function_over_wasm: Number((restricted / wasm).toFixed(2)),
};
if (asJson) {
  console.log(JSON.stringify(result));
} else {
  console.log(`bench cf-function: ${cases.length} vector requests x ${REPEAT}, median of ${ROUNDS} rounds, per request`);
  console.log(`  wasm decide (JSON in and out):                  ${result.wasm_decide_us_per_request} us (baseline)`);
  console.log(`  CloudFront Function, vm with every built-in:    ${result.function_us_per_request} us  ratio ${result.ratio_function_over_wasm}`);
  console.log(`  CloudFront Function, restricted test runtime:   ${result.function_restricted_runtime_us_per_request} us  ratio ${result.ratio_restricted_function_over_wasm}`);
}
