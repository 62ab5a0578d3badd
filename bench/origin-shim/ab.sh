#!/usr/bin/env bash
# Two origin-shim binaries against each other, interleaved: for measuring
# one change at a time on a machine whose load moves (issue 18). Each binary
# runs `serve` with a SQLite store of its own on the same 4 KiB file; wrk
# then alternates between them, small-file single-use links (fresh,
# pre-minted) and a time-only link, the order of the two flipped every round
# so neither always goes first. nginx serves the same file in every round as
# the baseline of issue 18's ratios. Prints one line per run and the load
# average before each round; not part of the test suite.
#
#   bash bench/origin-shim/ab.sh OLD_BINARY NEW_BINARY
#
# Needs: wrk, nginx, python3, and a release build of oncelink and the
# minting helper (bench/origin-shim/run.sh builds them). Knobs: BENCH_DURATION
# (6s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_TOKENS (links per
# binary per round, 60000), BENCH_CASES ("single timed"), BENCH_NGINX (1: also
# nginx), BENCH_SHIM_ARGS (extra `serve` flags for both binaries).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: ab.sh OLD_BINARY NEW_BINARY" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/bench/origin-shim"
target="${CARGO_TARGET_DIR:-$repo/target}"
bins=("$(realpath "$1")" "$(realpath "$2")")
duration="${BENCH_DURATION:-6s}"
conns="${BENCH_CONNECTIONS:-32}"
rounds="${BENCH_ROUNDS:-3}"
tokens="${BENCH_TOKENS:-60000}"
cases="${BENCH_CASES:-single timed}"
with_nginx="${BENCH_NGINX:-1}"
read -r -a shim_args <<<"${BENCH_SHIM_ARGS:-}"
oncelink_bin="$target/release/oncelink"
mint_bin="$target/release/oncelink-mint-many"
for f in "${bins[@]}" "$oncelink_bin" "$mint_bin"; do
  [ -x "$f" ] || { echo "ab: $f is not built" >&2; exit 1; }
done

work=$(mktemp -d /tmp/oncelink-ab.XXXXXX)
pids=()
cleanup() {
  local status=$?
  stop_started
  # A failed run keeps the servers' logs (one run of an earlier session
  # lost wrk's connection to a binary, and its log went with $work).
  if [ "$status" -ne 0 ]; then
    kept=$(mktemp -d /tmp/oncelink-ab-failed.XXXXXX)
    cp "$work"/*.log "$work"/*.out "$kept"/ 2>/dev/null || true
    echo "ab: failed; the servers' logs are kept in $kept" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

die() { echo "ab: $*" >&2; exit 1; }
. "$here/lib.sh"

mkdir -p "$work/root"
head -c 4096 /dev/urandom >"$work/root/small.bin"
"$oncelink_bin" keygen --out "$work/keys.json"

urls=()
shim_pids=()
for i in 0 1; do
  launch_shim "${bins[$i]}" "$work/shim$i.out" "$work/shim$i.log" --keys "$work/keys.json" --root "$work/root" \
    --store "sqlite:$work/uses$i.db" --create-store "${shim_args[@]}"
  urls+=("$started_url")
  shim_pids+=("${pids[-1]}")
done
names=(old new)
servers=(0 1)
if [ "$with_nginx" = 1 ]; then
  start_nginx "$work/root"
  urls+=("$nginx_url")
  names+=(nginx)
  servers+=(2)
fi

"$mint_bin" --keys "$work/keys.json" --path /small.bin --count 64 >"$work/timed.txt"
for s in "${servers[@]}"; do
  wrk -t1 -c4 -d2s -s "$here/targets.lua" "${urls[$s]}" -- "$work/timed.txt" 1 >/dev/null
done

run() { # ROUND CASE SERVER TARGETS
  local line
  line=$(wrk -t1 -c"$conns" -d"$duration" --latency -s "$here/targets.lua" "${urls[$3]}" -- "$4" 1 | grep '^{' | tail -n1)
  if [ "$3" -lt 2 ] && ! kill -0 "${shim_pids[$3]}" 2>/dev/null; then
    wait "${shim_pids[$3]}" && status=0 || status=$?
    die "the ${names[$3]} binary exited (status $status) during round $1; its log, request lines left out: $(grep -v ' INFO request ' "$work/shim$3.log" | tail -n 20)"
  fi
  python3 - "$1" "$2" "${names[$3]}" "$line" <<'EOF'
import json, sys
r, case, name, line = sys.argv[1:]
w = json.loads(line)
bad = w["non2xx"] + w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
rps = w["requests"] / (w["duration_us"] / 1e6)
print(f"round {r} {case:6} {name:5} {rps:9.0f} req/s  p50 {w['lat_p50_us']/1000:7.2f}  p90 {w['lat_p90_us']/1000:7.2f}"
      f"  p99 {w['lat_p99_us']/1000:7.2f}  max {w['lat_max_us']/1000:7.2f} ms  failed {bad}")
EOF
}

for r in $(seq 1 "$rounds"); do
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  order=("${servers[@]}")
  if [ $((r % 2)) -eq 0 ]; then order=(1 0); [ "$with_nginx" = 1 ] && order+=(2); fi
  for c in $cases; do
    for s in "${order[@]}"; do
      case "$c" in
        single)
          "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/single.txt"
          run "$r" single "$s" "$work/single.txt"
          ;;
        timed) run "$r" timed "$s" "$work/timed.txt" ;;
        *) echo "ab: unknown case $c" >&2; exit 1 ;;
      esac
    done
  done
done
echo "end: load $(cut -d' ' -f1-3 /proc/loadavg)"
