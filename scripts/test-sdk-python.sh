#!/usr/bin/env bash
# The Python package's tests (sdk/python/tests), against the package as a
# user gets it: the wheel built and installed into a fresh virtualenv
# (scripts/sdk-python-venv.sh), pytest run there from outside the source
# tree. Needs the debug `oncelink` and `origin-shim` binaries for the round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
cargo build -q -p origin-shim -p oncelink
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash scripts/sdk-python-venv.sh "$work"
# Run from a scratch copy: `import oncelink` must find the installed wheel.
cp -r sdk/python/tests "$work/tests"
cd "$work"
ONCELINK_ROOT="$root" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" \
  "$work/venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$work/tests" "$work/tests"
