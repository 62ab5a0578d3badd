#!/usr/bin/env bash
# The Python package's benchmark (bench/sdk/bench.py) in a fresh virtualenv
# holding the release wheel (scripts/sdk-python-venv.sh).
#
#   bash bench/sdk/run-python.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bash scripts/sdk-python-venv.sh "$work"
"$work/venv/bin/python" bench/sdk/bench.py "$@"
