#!/usr/bin/env bash
# Builds the Python package's abi3 wheel (maturin, release) and installs it,
# with pytest, into a fresh virtualenv: DIR/wheels/*.whl and DIR/venv.
# Used by scripts/test-sdk-python.sh and bench/sdk/run-python.sh. Tools come
# from scripts/setup.sh: a maturin virtualenv and a wheelhouse (no registry).
#
#   bash scripts/sdk-python-venv.sh DIR
#
# $PYTHON picks the interpreter of the venv (default python3); the abi3 wheel
# is the same for every CPython from 3.9 on.
set -euo pipefail
dir="${1:?usage: sdk-python-venv.sh DIR}"
cd "$(dirname "$0")/.."
root="$PWD"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/oncelink"
maturin="$cache/sdk-build-venv/bin/maturin"
[ -x "$maturin" ] || { echo "sdk-python-venv: $maturin is missing: run scripts/setup.sh" >&2; exit 1; }
# The extension is its own workspace; it shares the main target directory so
# the core's dependencies are compiled once.
(cd sdk/python && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" "$maturin" build --quiet --release --locked -o "$dir/wheels")
wheel="$(ls "$dir"/wheels/oncelink-*.whl)"
echo "sdk-python-venv: built $(basename "$wheel") ($(wc -c <"$wheel") bytes)" >&2
"${PYTHON:-python3}" -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$cache/wheelhouse" \
  -r sdk/python/requirements-test.txt "$wheel"
