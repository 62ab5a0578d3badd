// The Lambda@Edge viewer-request entry point, as bundled by
// scripts/build-bundle.mjs into dist/lambda-edge/index.mjs (handler
// `index.handler`). Lambda@Edge has no environment variables for
// configuration, so the config is baked in at build time through the
// `oncelink:config` module. `oncelink:wasm` is the wasm-bindgen glue from
// edge/pkg (scripts/build-wasm.sh); the .wasm file ships beside the bundle.
//
// Cold start: read the wasm, instantiate it synchronously, build the
// validator once. Each invocation then runs `handler(event)`.

import * as wasm from 'oncelink:wasm';
import baked from 'oncelink:config';
import { builtin } from './builtin.mjs';
import { createHandler as create } from './engine.mjs';

export { setLogSink } from './log.mjs';
export { setEventLogSink } from './events.mjs';

const { readFileSync } = await builtin('node:fs', () => import('node:fs'));
wasm.initSync({ module: readFileSync(new URL('./oncelink_edge_wasm_bg.wasm', import.meta.url)) });

/** The baked configuration (contains the keys: never log it). */
export const bakedConfig = baked;

/**
 * A handler with parts of the baked setup replaced: `validator` and `store`
 * are shallow overrides of the baked config; `env`, `fetch`, `nowMs`,
 * `random`, `sleep` replace I/O. For local runs, tests and benchmarks.
 */
export function createHandler(overrides = {}) {
  const config = {
    validator: { ...baked.validator, ...(overrides.validator ?? {}) },
    store: { ...baked.store, ...(overrides.store ?? {}) },
  };
  return create({ ...overrides, wasm, config });
}

/** The Lambda@Edge handler. */
export const handler = createHandler();
