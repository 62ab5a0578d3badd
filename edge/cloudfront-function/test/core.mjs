// The Rust core as built for WebAssembly (edge/pkg/, made by
// `bash scripts/build-wasm.sh`), for the differential test and the bench.
// ONCELINK_WASM_PKG may point at another wasm-bindgen `--target web` output.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WASM_PKG = resolve(process.env.ONCELINK_WASM_PKG ?? join(HERE, '..', '..', 'pkg'));

/** The initialised wasm module's exports; throws one line if it was never built. */
export async function loadCore() {
  const js = join(WASM_PKG, 'oncelink_edge_wasm.js');
  const wasm = join(WASM_PKG, 'oncelink_edge_wasm_bg.wasm');
  if (!existsSync(js) || !existsSync(wasm)) {
    throw new Error(`no wasm build in ${WASM_PKG}: run 'bash scripts/build-wasm.sh' first`);
  }
  const core = await import(pathToFileURL(js).href);
  core.initSync({ module: readFileSync(wasm) });
  return core;
}
