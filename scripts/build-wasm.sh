#!/usr/bin/env bash
# Builds the validator for WebAssembly into edge/pkg/:
#   cargo (profile wasm-release) -> wasm-bindgen (--target web) -> wasm-opt -Oz.
# wasm-opt is binaryen from npm (Debian's v108 produces modules that fail at
# instantiation; see docs/toolchain.md). The web target is loaded explicitly
# with initSync(bytes), which works the same in Node and in browsers.
#
#   bash scripts/build-wasm.sh [CRATE OUT_DIR [CARGO_ARG...]]
#
# CRATE and OUT_DIR default to the edge's (oncelink-edge-wasm, edge/pkg); the
# npm package builds its own wasm the same way (sdk/js/scripts/build-wasm.sh).
# CARGO_ARGs go to cargo build (e.g. --features mint, to measure the module
# with the minting exports the shipped one leaves out: edge/wasm/Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

crate="${1:-oncelink-edge-wasm}"
out="${2:-edge/pkg}"
shift 2 || shift $#
cargo build --quiet -p "$crate" --target wasm32-unknown-unknown --profile wasm-release "$@"
name="${crate//-/_}"
raw="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/$name.wasm"
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --no-typescript "$raw"
wasm_opt=node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "build-wasm: node_modules/.bin/wasm-opt is missing; run 'npm ci' first" >&2
  exit 1
fi
# --converge: repeat -Oz until the module stops shrinking (~1 KB gzip).
# --low-memory-unused: wasm-opt may fold constant addresses below 1 KiB into
# load/store offsets. Safe for rustc's layout: the stack sits first and grows
# down from 1 MiB, data starts at 1 MiB, so bytes 0..1024 are only touched if
# the 1 MiB stack overflows. Saves ~2 KB raw (docs/performance.md, "Where the
# bytes are").
"$wasm_opt" -Oz --converge --low-memory-unused --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/${name}_bg.wasm" -o "$out/${name}_bg.wasm"
echo "build-wasm: $(wc -c <"$raw") bytes from cargo, $(wc -c <"$out/${name}_bg.wasm") bytes after wasm-bindgen + wasm-opt -Oz -> $out/"
