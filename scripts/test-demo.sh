#!/usr/bin/env bash
# Runs the one-command demo (scripts/demo.sh) the way a user would and checks
# what it promises: three links printed; the single-use link serves once and
# then answers 410 to another client; the 3-use link carries the download
# name; the prefix link serves files under /folder/ only; SIGINT stops the
# server and the demo exits 0.
#
# The demo writes under .dev/ of the directory it lives in, so this runs a
# copy of it from a temporary directory (with the real binaries) and leaves
# the checkout's .dev/ alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release --quiet -p origin-shim -p oncelink

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/scripts"
cp scripts/demo.sh "$work/scripts/demo.sh"
# Start the port search high to stay clear of a demo a developer may be running.
# setsid: the demo gets its own process group, as a terminal would give it.
cd "$work"
DEMO_NO_BUILD=1 DEMO_PORT="${DEMO_TEST_PORT:-18080}" setsid bash scripts/demo.sh >"$work/out" 2>"$work/err" &
pid=$!

fail() {
  echo "test-demo: FAIL: $*" >&2
  echo "--- demo stdout" >&2; cat "$work/out" >&2
  echo "--- demo stderr" >&2; cat "$work/err" >&2
  exit 1
}

for _ in $(seq 1 150); do
  grep -q '^Try:' "$work/out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "the demo exited early"
  sleep 0.1
done
grep -q '^Try:' "$work/out" || fail "no links printed within 15 s"

single="$(grep -o 'http://127.0.0.1:[0-9]*/hello.txt?t=[^ "]*' "$work/out" | head -1)"
three="$(grep -o 'http://127.0.0.1:[0-9]*/report.pdf?t=[^ "]*' "$work/out" | head -1)"
prefix="$(grep -o 'http://127.0.0.1:[0-9]*/folder/notes.txt?t=[^ "]*' "$work/out" | head -1)"
[ -n "$single" ] && [ -n "$three" ] && [ -n "$prefix" ] || fail "missing one of the three links"

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(status -A first "$single")" = 200 ] || fail "single-use link: first download not 200"
[ "$(status -A second "$single")" = 410 ] || fail "single-use link: second client not 410"
curl -s -D - -o /dev/null -A first "$three" | grep -qi '^content-disposition: attachment; filename="Quarterly report.pdf"' \
  || fail "3-use link: no Content-Disposition"
[ "$(status "$prefix")" = 200 ] || fail "prefix link: /folder/notes.txt not 200"
[ "$(status "${prefix/folder\/notes.txt/folder\/data.csv}")" = 200 ] || fail "prefix link: /folder/data.csv not 200"
[ "$(status "${prefix/folder\/notes.txt/hello.txt}")" = 403 ] || fail "prefix link: a file outside /folder/ not 403"
[ -s "$work/.dev/keys.json" ] || fail "no .dev/keys.json"

# Ctrl-C: SIGINT to the demo's process group, as a terminal sends it.
kill -INT -- "-$pid" 2>/dev/null || kill -INT "$pid"
code=0
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "the demo did not stop within 10 s of SIGINT"
wait "$pid" || code=$?
[ "$code" = 0 ] || fail "the demo exited $code after SIGINT"
grep -q 'shutting down' "$work/err" || fail "origin-shim did not log a clean shutdown"
pid=""
echo "test-demo: ok (links served as promised, clean stop on SIGINT)"
