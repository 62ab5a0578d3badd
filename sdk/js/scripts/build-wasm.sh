#!/usr/bin/env bash
# Builds the npm package's wasm (crate oncelink-sdk-wasm) into sdk/js/wasm/pkg/
# exactly as the edge's is built (scripts/build-wasm.sh). Run by `npm pack`
# (prepack); needs the repository root's node_modules (wasm-opt).
set -euo pipefail
exec bash "$(dirname "$0")/../../../scripts/build-wasm.sh" oncelink-sdk-wasm sdk/js/wasm/pkg
