#!/usr/bin/env bash
# The cost of link events on the request path: one origin-shim with webhooks
# on (a local receiver answering 204: tests/webhooks/receiver.py) and one
# without, each with its own SQLite store, the same pre-minted single-use
# links, wrk alternating between them. Prints one line per run; not part of
# the test suite (performance is for benchmarks, never asserted).
#
#   bash bench/origin-shim/webhooks.sh
#
# Needs: cargo, wrk, python3. Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS
# (16), BENCH_ROUNDS (3), BENCH_TOKENS (200000).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/bench/origin-shim"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
duration="${BENCH_DURATION:-10s}"
conns="${BENCH_CONNECTIONS:-16}"
rounds="${BENCH_ROUNDS:-3}"
tokens="${BENCH_TOKENS:-200000}"

(cd "$repo" && cargo build --quiet --release -p origin-shim -p oncelink)
cargo build --quiet --release --manifest-path "$here/mint-many/Cargo.toml"
shim_bin="$CARGO_TARGET_DIR/release/origin-shim"
oncelink_bin="$CARGO_TARGET_DIR/release/oncelink"
mint_bin="$CARGO_TARGET_DIR/release/oncelink-mint-many"

work=$(mktemp -d /tmp/oncelink-bench-events.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$work/root"
head -c 4096 /dev/urandom >"$work/root/small.bin"
"$oncelink_bin" keygen --out "$work/keys.json"
"$oncelink_bin" webhook secret >"$work/webhook.secret"

hook_port=$(free_port)
python3 "$repo/origin-shim/tests/webhooks/receiver.py" "$hook_port" "$work/webhook.secret" "$work/deliveries.jsonl" \
  >"$work/receiver.out" &
pids+=($!)

start() { # NAME EXTRA...: starts a shim, prints its URL
  local name=$1; shift
  "$shim_bin" serve --keys "$work/keys.json" --root "$work/root" --store "sqlite:$work/$name.db" --create-store \
    --refusal-rate 0 --listen 127.0.0.1:0 "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  local url=""
  for _ in $(seq 1 200); do
    url=$(sed -n 's|^listening on \(http://[0-9.:]*\)$|\1|p' "$work/$name.out" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "bench: $name did not start: $(tail -n 5 "$work/$name.log")" >&2; exit 1; }
  echo "$url"
}
off_url=$(start off)
on_url=$(start on --webhook "http://127.0.0.1:$hook_port/hook" --webhook-secret-file "$work/webhook.secret")

for r in $(seq 1 "$rounds"); do
  for name in off on; do
    url=$off_url
    [ "$name" = on ] && url=$on_url
    "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/targets.txt"
    line=$(wrk -t1 -c"$conns" -d"$duration" -s "$here/targets.lua" "$url" -- "$work/targets.txt" 1 | tail -n1)
    echo "round $r webhooks=$name $line"
  done
done
sleep 2
echo "deliveries received: $(wc -l <"$work/deliveries.jsonl"); signature failures: $(grep -c '"signature_ok": false' "$work/deliveries.jsonl" || true)"
