#!/usr/bin/env bash
# The npm package's tests (sdk/js/test), against the package as a user gets
# it: `npm pack` once (its prepack builds the wasm), install the tarball into a
# scratch project, run every test file against that install. Needs the debug
# `oncelink` and `origin-shim` binaries for the round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p origin-shim -p oncelink
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd sdk/js && npm pack --silent --pack-destination "$work" >/dev/null)
mkdir -p "$work/project"
printf '{"name":"sdk-user","private":true,"type":"module"}\n' >"$work/project/package.json"
(cd "$work/project" && npm install --silent --offline --no-audit --no-fund "$work"/oncelink-*.tgz)
export ONCELINK_SDK_JS_PROJECT="$work/project"
ONCELINK_SDK_JS_TARBALL="$(ls "$work"/oncelink-*.tgz)"
export ONCELINK_SDK_JS_TARBALL
node --test --test-concurrency=1 sdk/js/test/*.test.mjs
