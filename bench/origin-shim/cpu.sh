#!/usr/bin/env bash
# Where one request's CPU goes in origin-shim, per thread (issue 18): the
# binary serves a 4 KiB file with a fresh SQLite store; wrk -c32 sends
# fresh pre-minted single-use links (`single`) or one time-only link
# (`timed`); the CPU time of each of the server's threads (schedstat,
# nanoseconds) and their context switches are read before and after, and
# wrk's own CPU from its rusage. Prints one line: req/s, p50/p99, then per
# thread name µs of CPU per request and voluntary/involuntary switches per
# request. CPU per request moves far less with the machine's load than
# req/s does, so it is the figure for comparing two builds on a shared
# machine (run them in turn, several times). Not part of the test suite.
#
#   bash bench/origin-shim/cpu.sh BINARY single|timed
#
# Needs: wrk, python3, and release builds of oncelink and the minting
# helper (bench/origin-shim/run.sh builds them). Knobs: BENCH_DURATION (6s),
# BENCH_CONNECTIONS (32), BENCH_TOKENS (single-use links, 120000),
# BENCH_SHIM_ARGS (extra `serve` flags), BENCH_STORE (`sqlite`, or
# `postgres`: a PostgreSQL 15 cluster started here, whose processes' CPU
# is then one more `postgres` entry; BENCH_PG_OPTS adds its server options,
# BENCH_PG_LOG keeps its log: lib.sh), BENCH_PERF=FILE (also `perf
# record` the server for 5 s into FILE: `perf report -i FILE --comm
# sqlite-store --sort sym` then shows one thread's functions).
set -euo pipefail

[ $# -eq 2 ] && { [ "$2" = single ] || [ "$2" = timed ]; } || { echo "usage: cpu.sh BINARY single|timed" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/bench/origin-shim"
target="${CARGO_TARGET_DIR:-$repo/target}"
bin=$(realpath "$1")
case_=$2
duration="${BENCH_DURATION:-6s}"
conns="${BENCH_CONNECTIONS:-32}"
tokens="${BENCH_TOKENS:-120000}"
read -r -a shim_args <<<"${BENCH_SHIM_ARGS:-}"
store_kind="${BENCH_STORE:-sqlite}"
case "$store_kind" in sqlite | postgres) ;; *) echo "cpu: BENCH_STORE is sqlite or postgres, not '$store_kind'" >&2; exit 1 ;; esac
oncelink_bin="$target/release/oncelink"
mint_bin="$target/release/oncelink-mint-many"
for f in "$bin" "$oncelink_bin" "$mint_bin"; do
  [ -x "$f" ] || { echo "cpu: $f is not built" >&2; exit 1; }
done

work=$(mktemp -d /tmp/oncelink-cpu.XXXXXX)
pids=()
cleanup() {
  stop_started
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT
die() { echo "cpu: $*" >&2; exit 1; }
. "$here/lib.sh"

mkdir -p "$work/root"
head -c 4096 /dev/urandom >"$work/root/small.bin"
"$oncelink_bin" keygen --out "$work/keys.json" 2>/dev/null
if [ "$store_kind" = postgres ]; then
  start_postgres || die "PostgreSQL 15 is not installed (apt-get install -y postgresql)"
  store_args=(--store "$pg_store")
else
  store_args=(--store "sqlite:$work/uses.db" --create-store)
fi
launch_shim "$bin" "$work/shim.out" "$work/shim.log" --keys "$work/keys.json" --root "$work/root" \
  "${store_args[@]}" "${shim_args[@]}"
pid=${pids[-1]}
"$mint_bin" --keys "$work/keys.json" --path /small.bin --count 64 >"$work/timed.txt"
wrk -t1 -c4 -d2s -s "$here/targets.lua" "$started_url" -- "$work/timed.txt" 1 >/dev/null
if [ "$case_" = single ]; then
  "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/targets.txt"
else
  cp "$work/timed.txt" "$work/targets.txt"
fi

# Per thread name: CPU nanoseconds, voluntary and involuntary switches; with
# PostgreSQL also its processes (the postmaster and its children) as `postgres`.
snapshot() {
  local task
  one() { # NAME TASK_DIR
    [ -r "$2/schedstat" ] || return 0
    printf '%s\t%s\t%s\t%s\n' "$1" "$(cut -d' ' -f1 "$2/schedstat")" \
      "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$2/status")" \
      "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$2/status")"
  }
  for task in /proc/"$pid"/task/*; do one "$(cat "$task/comm")" "$task"; done
  if [ -n "${pg_dir:-}" ]; then
    local postmaster child
    postmaster=$(head -n1 "$pg_dir/data/postmaster.pid")
    one postgres /proc/"$postmaster"
    for child in $(pgrep -P "$postmaster"); do one postgres /proc/"$child" 2>/dev/null || true; done
  fi
}
# The set-up's writes (links, the cluster's files) on disk first, as run.sh
# does before each case, so the measurement does not pay for their writeback.
sync
snapshot >"$work/before"
if [ -n "${BENCH_PERF:-}" ]; then
  perf record -F 2000 -e cpu-clock -o "$BENCH_PERF" -p "$pid" -- sleep 5 >/dev/null 2>&1 &
  perf_pid=$!
fi
python3 - "$work/wrk.json" wrk -t1 -c"$conns" -d"$duration" --latency -s "$here/targets.lua" "$started_url" \
  -- "$work/targets.txt" 1 <<'EOF_PY'
import json, resource, subprocess, sys
out = subprocess.run(sys.argv[2:], capture_output=True, text=True, check=True).stdout
line = [l for l in out.splitlines() if l.startswith("{")][-1]
r = resource.getrusage(resource.RUSAGE_CHILDREN)
w = json.loads(line)
w["cpu_s"] = r.ru_utime + r.ru_stime
json.dump(w, open(sys.argv[1], "w"))
EOF_PY
snapshot >"$work/after"
if [ -n "${BENCH_PERF:-}" ]; then wait "$perf_pid" || true; fi

python3 - "$work/wrk.json" "$work/before" "$work/after" <<'EOF_PY'
import collections, json, sys
w = json.load(open(sys.argv[1]))
n = w["requests"]
def load(path):
    totals = collections.defaultdict(lambda: [0, 0, 0])
    for line in open(path):
        name, *values = line.rstrip("\n").split("\t")
        for i, v in enumerate(values):
            totals[name][i] += int(v)
    return totals
before, after = load(sys.argv[2]), load(sys.argv[3])
# `server` is origin-shim's threads; PostgreSQL's processes are apart.
pg = after.pop("postgres", None)
pg_text = ""
if pg is not None:
    b = before.get("postgres", [0, 0, 0])
    pg_text = f" | postgres {(pg[0] - b[0]) / 1000 / n:.1f} µs {(pg[1] - b[1]) / n:.2f}v/{(pg[2] - b[2]) / n:.2f}nv"
bad = w["non2xx"] + w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
parts, total = [], 0.0
for name in sorted(after):
    b = before.get(name, [0, 0, 0])
    us = (after[name][0] - b[0]) / 1000 / n
    total += us
    if us >= 0.05:
        parts.append(f"{name} {us:.1f} µs {(after[name][1] - b[1]) / n:.2f}v/{(after[name][2] - b[2]) / n:.2f}nv")
print(f"{n / (w['duration_us'] / 1e6):,.0f} req/s, p50 {w['lat_p50_us'] / 1000:.2f} ms, p99 {w['lat_p99_us'] / 1000:.2f} ms, "
      f"failed {bad} | server {total:.1f} µs per request: " + "; ".join(parts) + pg_text + f" | wrk {w['cpu_s'] * 1e6 / n:.1f} µs")
EOF_PY
