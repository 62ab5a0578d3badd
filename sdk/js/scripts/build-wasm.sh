#!/usr/bin/env bash
# Builds the npm package's wasm into sdk/js/wasm/pkg/ the way
# scripts/build-wasm.sh builds the edge's: cargo (profile wasm-release) ->
# wasm-bindgen (--target web, loaded with initSync(bytes)) -> wasm-opt -Oz
# (binaryen from the repository's node_modules). Run by `npm pack` (prepack).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
out=sdk/js/wasm/pkg
cargo build --quiet -p oncelink-sdk-wasm --target wasm32-unknown-unknown --profile wasm-release
raw="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/oncelink_sdk_wasm.wasm"
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --no-typescript "$raw"
wasm_opt=node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "sdk build-wasm: node_modules/.bin/wasm-opt is missing; run 'npm ci' in the repository root first" >&2
  exit 1
fi
"$wasm_opt" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/oncelink_sdk_wasm_bg.wasm" -o "$out/oncelink_sdk_wasm_bg.wasm"
echo "sdk build-wasm: $(wc -c <"$out/oncelink_sdk_wasm_bg.wasm") bytes of wasm -> $out/" >&2
