#!/usr/bin/env bash
# The one-command demo (`npm start`): builds origin-shim and the oncelink CLI,
# makes a dev key file and a few demo files under .dev/ (git-ignored), starts
# `origin-shim serve` on 127.0.0.1 (port 8080, or the next free one), and
# prints a single-use link, a 3-use link, a prefix-bound link, a page-mode
# link (a download page that chat unfurlers and mail scanners cannot burn)
# and a password link with its password (docs/page-mode.md).
# Ctrl-C stops the server cleanly.
#
# Environment: DEMO_PORT (first port to try, default 8080),
# CARGO_TARGET_DIR (honoured), DEMO_NO_BUILD=1 (skip cargo build; for tests).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "demo: cargo is not installed; install Rust (https://rustup.rs) or run scripts/setup.sh" >&2
  exit 1
fi

bin="${CARGO_TARGET_DIR:-target}/release"
if [ "${DEMO_NO_BUILD:-0}" != 1 ]; then
  echo "demo: building origin-shim and oncelink (release; the first build takes a few minutes)..." >&2
  cargo build --release --quiet -p origin-shim -p oncelink
fi

dev=.dev
files="$dev/demo-files"
mkdir -p "$files/folder"
chmod 700 "$dev"

# The signing key: made once, kept private. Its making is the demo's first run.
first_run=0
if [ ! -s "$dev/keys.json" ]; then
  first_run=1
  # --out writes it 0600 and atomically; --force only replaces an empty file here.
  "$bin/oncelink" keygen --out "$dev/keys.json" --force
  echo "demo: created $dev/keys.json (keep it secret; it signs links)" >&2
fi

# Demo files, written only when missing so edits survive reruns.
[ -f "$files/hello.txt" ] || printf 'Hello from oncelink.\nThis file was served by origin-shim through a counted link.\n' >"$files/hello.txt"
if [ ! -f "$files/report.pdf" ]; then
  {
    printf '%%PDF-1.4\n%% oncelink demo: not a real PDF, just some binary bytes\n'
    head -c 65536 /dev/urandom
    printf '\n%%%%EOF\n'
  } >"$files/report.pdf"
fi
[ -f "$files/folder/notes.txt" ] || printf 'notes: any file under /folder/ works with the prefix link\n' >"$files/folder/notes.txt"
[ -f "$files/folder/data.csv" ] || printf 'id,value\n1,42\n2,7\n' >"$files/folder/data.csv"
[ -f "$files/secret.txt" ] || printf 'The password was right: this file came through a password link.\n' >"$files/secret.txt"

# A free port: DEMO_PORT (8080) or the next free one of the following 50.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port="${DEMO_PORT:-8080}"
last=$((port + 50))
while port_in_use "$port"; do
  port=$((port + 1))
  if [ "$port" -gt "$last" ]; then
    echo "demo: no free port between ${DEMO_PORT:-8080} and $last" >&2
    exit 1
  fi
done

out="$dev/origin-shim.stdout"
: >"$out"
# Logs (readable lines) go to this terminal on stderr; stdout carries the
# "listening on" line we wait for.
# The store is created on the first run only: origin-shim never creates a
# missing store file by itself (one that went away would come back empty,
# every use count reset), so a later run whose demo.db is gone stops with
# a clear message instead (delete .dev/ to start the demo over).
create_store=()
if [ "$first_run" = 1 ]; then
  create_store=(--create-store)
elif [ ! -e "$dev/demo.db" ]; then
  echo "demo: $dev/demo.db (the use counts) is gone; origin-shim will not start on an empty store." >&2
  echo "demo: to start the demo over with a new key and a new store: rm -r $dev && npm start" >&2
fi
"$bin/origin-shim" serve --keys "$dev/keys.json" --root "$files" --store "sqlite:$dev/demo.db" \
  "${create_store[@]}" --listen "127.0.0.1:$port" >"$out" &
pid=$!

stop() {
  trap - INT TERM EXIT
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

base=""
for _ in $(seq 1 100); do
  base="$(sed -n 's/^listening on //p' "$out")"
  [ -n "$base" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "demo: origin-shim exited before listening (see the messages above)" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "demo: origin-shim did not start listening within 10 s" >&2
  exit 1
fi

mint() { "$bin/oncelink" mint --keys "$dev/keys.json" --base-url "$base" "$@"; }
single="$(mint --path /hello.txt --uses 1 --ttl 1h)"
three="$(mint --path /report.pdf --uses 3 --ttl 1h --filename 'Quarterly report.pdf')"
prefix_dir="$(mint --path '/folder/*' --ttl 1h)"
prefix="${prefix_dir/\/folder\/\?/\/folder\/notes.txt?}"
page="$(mint --path /report.pdf --uses 1 --ttl 1h --mode page --filename 'Quarterly report.pdf')"
# A fresh demo password each run, given to the CLI on stdin (never argv).
password="demo-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
protected="$(printf '%s\n' "$password" | mint --path /secret.txt --uses 1 --ttl 1h --password-stdin)"

cat <<EOF

origin-shim is serving $files on $base (store: $dev/demo.db). Ctrl-C stops it.

Single-use link (1 download):
  $single

3-use link (3 downloads, saved as "Quarterly report.pdf"):
  $three

Prefix link (any file under /folder/ for 1 hour, no use limit; try data.csv too):
  $prefix

Page link (1 download; opening it shows a download page and uses nothing, only
its Download button does, so a chat preview or a mail scanner cannot burn it):
  $page

Password link (1 download; password: $password; 5 wrong passwords lock it):
  $protected

Try:  curl -sS "$single"; curl -sS -A another-client "$single"
      (the first prints the file; the second, from another client, gets 410 used_up.
       The same client repeating within 10 minutes counts as resuming the same download.)
      curl -sS -L -d '' -o report.pdf "$page"
      curl -sS -L --data-urlencode "password=$password" "$protected"
      (a page link downloads with a POST; open both in a browser to see the pages.)

EOF

wait "$pid"
