#!/usr/bin/env bash
# Runs the one-command demo (scripts/demo.sh) the way a user would and checks
# what it promises: three links printed; the single-use link serves once and
# then answers 410 to another client; the 3-use link carries the download
# name; the prefix link serves files under /folder/ only; the page link shows
# a page that uses nothing, and its POST -> 303 -> GET downloads the exact
# file once; the password link refuses a wrong password and downloads with
# the printed one; SIGINT stops the server and the demo exits 0.
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

# The page link: a page (twice, and a HEAD), nothing used; then the button.
page="$(grep -o 'http://127.0.0.1:[0-9]*/report.pdf?t=[^ "]*' "$work/out" | sed -n 2p)"
[ -n "$page" ] && [ "$page" != "$three" ] || fail "no page link printed"
for _ in 1 2; do
  curl -s -A browser -H 'Accept: text/html' -D "$work/page.head" -o "$work/page.html" "$page"
  head -1 "$work/page.head" | grep -q ' 200' || fail "page link: GET is not 200"
  grep -qi "^content-security-policy: .*form-action 'self'" "$work/page.head" || fail "page link: no form-action CSP"
  grep -q 'Quarterly report.pdf' "$work/page.html" || fail "page link: the page does not name the file"
  grep -q '<form method="post">' "$work/page.html" || fail "page link: no download form"
done
[ "$(status -I -A scanner "$page")" = 200 ] || fail "page link: HEAD not 200"
location="$(curl -s -o /dev/null -w '%{redirect_url}' -A browser -d '' "$page")"
case "$location" in *'&pass='*) ;; *) fail "page link: the POST did not redirect with a pass (got '$location')" ;; esac
[ "$(curl -s -A browser -o "$work/got.pdf" -w '%{http_code}' "$location")" = 200 ] || fail "page link: GET with the pass not 200"
cmp -s "$work/.dev/demo-files/report.pdf" "$work/got.pdf" || fail "page link: the download is not the file"
[ "$(status -L -d '' -A another "$page")" = 410 ] || fail "page link: a second client's download is not 410"

# The password link: wrong is refused and counted, the printed one downloads.
protected="$(grep -o 'http://127.0.0.1:[0-9]*/secret.txt?t=[^ "]*' "$work/out" | head -1)"
password="$(sed -n 's/.*password: \(demo-[0-9a-f]*\);.*/\1/p' "$work/out" | head -1)"
[ -n "$protected" ] && [ -n "$password" ] || fail "no password link or password printed"
[ "$(status -A browser --data-urlencode 'password=wrong' "$protected")" = 403 ] || fail "password link: a wrong password not 403"
cmp -s "$work/.dev/demo-files/secret.txt" <(curl -s -L -A browser --data-urlencode "password=$password" "$protected") \
  || fail "password link: the right password did not download the file"

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
echo "test-demo: ok (links and pages served as promised, clean stop on SIGINT)"
