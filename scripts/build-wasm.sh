#!/usr/bin/env bash
# Builds the validator for WebAssembly into edge/pkg/:
#   cargo (profile wasm-release) -> wasm-bindgen (--target web) -> wasm-opt -Oz.
# wasm-opt is binaryen from npm (Debian's v108 produces modules that fail at
# instantiation; see docs/toolchain.md). The web target is loaded explicitly
# with initSync(bytes), which works the same in Node and in browsers.
set -euo pipefail
cd "$(dirname "$0")/.."

out=edge/pkg
cargo build --quiet -p oncelink-edge-wasm --target wasm32-unknown-unknown --profile wasm-release
raw="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/oncelink_edge_wasm.wasm"
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --no-typescript "$raw"
wasm_opt=node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "build-wasm: node_modules/.bin/wasm-opt is missing; run 'npm ci' first" >&2
  exit 1
fi
"$wasm_opt" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/oncelink_edge_wasm_bg.wasm" -o "$out/oncelink_edge_wasm_bg.wasm"
echo "build-wasm: $(wc -c <"$raw") bytes from cargo, $(wc -c <"$out/oncelink_edge_wasm_bg.wasm") bytes after wasm-bindgen + wasm-opt -Oz -> $out/"
