#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine,
# and nothing that is already there. Safe to run again; fast when up to date.
#
#   Rust:   wasm32 target, wasm-bindgen-cli (exactly the wasm-bindgen version in
#           Cargo.lock), wasm-pack
#   Debian: chromium + chromium-driver (the browser wasm-tests run in), curl
#           (with HTTP/2: origin-shim's TLS tests), a C++
#           compiler (libfuzzer-sys builds libFuzzer for security/fuzz),
#           postgresql (15: the store tests start their own cluster with
#           initdb/pg_ctl as the postgres user; the package's own cluster is
#           not used)
#   npm:    the locked devDependencies (esbuild, binaryen's wasm-opt, ...)
#   PyPI:   scripts/requirements-test.txt (moto server: the DynamoDB-compatible
#           server the handler tests start; cfn-lint; checkov; ...); for the
#           Python SDK, maturin in its own virtualenv and a wheelhouse of
#           sdk/python/requirements-test.txt (pytest) for its fresh test venvs
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/, "", $0); print; exit}' Cargo.lock)
[ -n "$wasm_bindgen_version" ] || { echo "setup: cannot read the wasm-bindgen version from Cargo.lock" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  # Not --locked: the CLI's lockfile wants a webpki-roots release the registry lacks (docs/toolchain.md).
  say "installing wasm-bindgen-cli $wasm_bindgen_version (about 3 minutes)"
  cargo install --quiet --force wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

if ! command -v wasm-pack >/dev/null; then
  say "installing wasm-pack (about 2 minutes)"
  cargo install --quiet --locked wasm-pack
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing chromium and chromium-driver from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! command -v c++ >/dev/null; then
  say "installing g++ from Debian (libFuzzer for security/fuzz)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq g++ >/dev/null
fi

if ! command -v curl >/dev/null || ! curl -V | grep -q nghttp2; then
  say "installing curl from Debian (origin-shim's TLS tests are HTTP/1.1 and HTTP/2 clients through it)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq curl >/dev/null
fi

if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  say "installing postgresql from Debian (the store tests run a real PostgreSQL 15)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

stamp=node_modules/.oncelink-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

pystamp="${XDG_CACHE_HOME:-$HOME/.cache}/oncelink/requirements-test.txt"
if [ ! -f "$pystamp" ] || ! cmp -s scripts/requirements-test.txt "$pystamp"; then
  say "installing Python test tools (pip)"
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  mkdir -p "$(dirname "$pystamp")"
  cp scripts/requirements-test.txt "$pystamp"
fi
sdkcache="${XDG_CACHE_HOME:-$HOME/.cache}/oncelink"
if [ ! -x "$sdkcache/sdk-build-venv/bin/maturin" ] || ! cmp -s sdk/python/requirements-build.txt "$sdkcache/requirements-build.txt"; then
  say "installing maturin into $sdkcache/sdk-build-venv (Python SDK builds)"
  rm -rf "$sdkcache/sdk-build-venv"
  python3 -m venv "$sdkcache/sdk-build-venv"
  "$sdkcache/sdk-build-venv/bin/pip" install --quiet --disable-pip-version-check -r sdk/python/requirements-build.txt
  cp sdk/python/requirements-build.txt "$sdkcache/requirements-build.txt"
fi
if ! cmp -s sdk/python/requirements-test.txt "$sdkcache/wheelhouse/requirements-test.txt" 2>/dev/null; then
  say "filling the Python SDK's test wheelhouse (pytest)"
  rm -rf "$sdkcache/wheelhouse"
  python3 -m pip download --quiet --disable-pip-version-check -d "$sdkcache/wheelhouse" -r sdk/python/requirements-test.txt
  cp sdk/python/requirements-test.txt "$sdkcache/wheelhouse/requirements-test.txt"
fi
say "ready"
