#!/usr/bin/env bash
# origin-shim against nginx, side by side in one run on this machine.
#
#   bash bench/origin-shim/run.sh        (or: npm run bench)
#
# Measures, with wrk, requests/s and latency for small-file downloads
# (a fresh single-use link per request, pre-minted; and a time-only link),
# and single-stream throughput for a 1 GiB file, against nginx (Debian's
# nginx-light) serving the same directory statically with a config generated
# here. Prints a markdown table of ratios against nginx and writes it to
# docs/origin-shim-bench.md. Also origin-shim over TLS (HTTP/1.1: wrk
# speaks no HTTP/2), a second instance with a certificate made here, against
# the plain-HTTP instance in the same run. Not part of the test suite.
#
# Needs: cargo, wrk, nginx, python3, curl, openssl
# (apt-get install -y wrk nginx-light curl openssl).
# The two small-file cases on nginx and on origin-shim with SQLite run in
# BENCH_ROUNDS interleaved rounds (nginx and origin-shim take turns going
# first), and their ratios are the median of the rounds' ratios: one round's
# figures on a shared machine moved by tens of percent from run to run
# (issue 18), the rounds of one run far less against each other.
# Knobs (environment): BENCH_DURATION (default 10s), BENCH_BIG_DURATION (30s),
# BENCH_ROUNDS (3), BENCH_CONNECTIONS (32),
# BENCH_THREADS (1), BENCH_SMALL_BYTES (4096), BENCH_BIG_MIB (1024),
# BENCH_TOKENS (pre-minted single-use links per round, 300000),
# BENCH_PG_SETTLE (seconds of quiet before the PostgreSQL cases, 120), BENCH_OUT (the
# markdown file; default docs/origin-shim-bench.md), BENCH_ONLY=small (only
# the two small-file cases on nginx and plain-HTTP origin-shim with SQLite:
# no big file, TLS or PostgreSQL; the table is printed, and written only to
# BENCH_OUT when that is set).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/bench/origin-shim"
# One target dir for the workspace and the helper (its own workspace root).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR" ;; esac
target="$CARGO_TARGET_DIR"
duration="${BENCH_DURATION:-10s}"
big_duration="${BENCH_BIG_DURATION:-30s}"
conns="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-1}"
small_bytes="${BENCH_SMALL_BYTES:-4096}"
big_mib="${BENCH_BIG_MIB:-1024}"
tokens="${BENCH_TOKENS:-300000}"
rounds="${BENCH_ROUNDS:-3}"
pg_settle="${BENCH_PG_SETTLE:-120}"
case "$pg_settle" in '' | *[!0-9]*) echo "bench: BENCH_PG_SETTLE is a whole number of seconds, not '$pg_settle'" >&2; exit 1 ;; esac
case "$rounds" in '' | *[!0-9]* | 0) echo "bench: BENCH_ROUNDS is a whole number of rounds, at least 1, not '$rounds'" >&2; exit 1 ;; esac
only="${BENCH_ONLY:-all}"
case "$only" in
  all) out_md="${BENCH_OUT:-$repo/docs/origin-shim-bench.md}" ;;
  small) out_md="${BENCH_OUT:-}" ;;
  *) echo "bench: BENCH_ONLY is 'small' or unset, not '$only'" >&2; exit 1 ;;
esac

die() { echo "bench: $*" >&2; exit 1; }
for tool in cargo wrk nginx python3 curl openssl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install -y wrk nginx-light python3 curl openssl)"
done

echo "bench: building origin-shim, oncelink and the minting helper (release)" >&2
(cd "$repo" && cargo build --quiet --release -p origin-shim -p oncelink)
cargo build --quiet --release --manifest-path "$here/mint-many/Cargo.toml"
shim_bin="$target/release/origin-shim"
oncelink_bin="$target/release/oncelink"
mint_bin="$target/release/oncelink-mint-many"

work=$(mktemp -d /tmp/oncelink-bench.XXXXXX)
pids=()
cleanup() {
  stop_started
  rm -rf "$work"
}
trap cleanup EXIT

. "$here/lib.sh"

# The files both servers serve.
root="$work/root"
mkdir -p "$root"
head -c "$small_bytes" /dev/urandom >"$root/small.bin"
if [ "$only" = all ]; then
  echo "bench: writing a ${big_mib} MiB file" >&2
  head -c "$((big_mib * 1024 * 1024))" /dev/urandom >"$root/big.bin"
fi

# nginx, configured here, listening on 127.0.0.1 only.
start_nginx "$root"

# origin-shim serve on the same directory, with its SQLite store.
"$oncelink_bin" keygen --out "$work/keys.json"
started_url=""
start_shim() { # STORE OUT LOG [EXTRA...]: origin-shim serve on root with STORE; its URL in $started_url
  local store=$1 out=$2 log=$3
  shift 3
  launch_shim "$shim_bin" "$out" "$log" --keys "$work/keys.json" --root "$root" --store "$store" "$@"
}
start_shim "sqlite:$work/uses.db" "$work/shim.out" "$work/shim.log" --create-store
shim_url=$started_url

# The same server over TLS (issue 13): a self-signed ECDSA P-256 certificate
# made here, its own SQLite store (one store file per process).
tls_url=""
if [ "$only" = all ]; then
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
start_shim "sqlite:$work/uses-tls.db" "$work/tls.out" "$work/tls.log" --create-store \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key"
tls_url=$started_url
fi

# PostgreSQL (issue 12): one cluster started here, and two origin-shim
# processes on it, as several instances behind a load balancer would run.
# Skipped when PostgreSQL 15 is not installed (apt-get install -y postgresql).
pg_urls=()
if [ "${BENCH_POSTGRES:-1}" = 1 ] && [ "$only" = all ] && start_postgres; then
  trap 'stop_postgres; cleanup' EXIT
  start_shim "$pg_store" "$work/pg1.out" "$work/pg1.log"
  pg_urls+=("$started_url")
  start_shim "$pg_store" "$work/pg2.out" "$work/pg2.log"
  pg_urls+=("$started_url")
fi

# Request targets. nginx ignores the query; it gets the same targets so the
# requests are the same size.
echo "bench: minting $tokens single-use links for each of $rounds round(s)" >&2
for round in $(seq 1 "$rounds"); do
  "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/single-$round.txt"
done
"$mint_bin" --keys "$work/keys.json" --path /small.bin --count 64 >"$work/timed.txt"
if [ "$only" = all ]; then
  "$mint_bin" --keys "$work/keys.json" --path /big.bin --count 8 >"$work/big.txt"
  "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/tls-single.txt"
fi
if [ ${#pg_urls[@]} -gt 0 ]; then
  # Links of their own: the one-instance run would otherwise spend the links
  # of the two-instance run. The two instances get disjoint halves.
  "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/pg-single.txt"
  "$mint_bin" --keys "$work/keys.json" --path /small.bin --count "$tokens" --uses 1 >"$work/pg-both.txt"
  awk 'NR % 2 == 1' "$work/pg-both.txt" >"$work/pg-a.txt"
  awk 'NR % 2 == 0' "$work/pg-both.txt" >"$work/pg-b.txt"
fi

# Write back what the set-up wrote (the 1 GiB file, the minted links) now:
# the kernel would otherwise do it about 30 s later, in the middle of the
# single-use case, whose every commit waits for the same disk (one run's
# single-use p99 was 38 ms against 8 to 11 ms without it).
sync
load_before=$(cut -d" " -f1-3 /proc/loadavg)
results="$work/results.jsonl"
: >"$results"
round=1
run_wrk() { # NAME SERVER URL TARGETS THREADS CONNS DURATION EXTRA... (in round $round)
  local name=$1 server=$2 url=$3 file=$4 t=$5 c=$6 d=$7
  shift 7
  echo "bench: $name on $server, round $round (wrk -t$t -c$c -d$d $*)" >&2
  local line
  line=$(wrk -t"$t" -c"$c" -d"$d" "$@" -s "$here/targets.lua" "$url" -- "$file" "$t" | grep '^{' | tail -n1)
  [ -n "$line" ] || die "wrk printed no result for $name on $server"
  echo "{\"case\":\"$name\",\"server\":\"$server\",\"round\":$round,\"wrk\":$line}" >>"$results"
}

# Warm both servers (page cache, allocator, SQLite file) before measuring.
wrk -t1 -c4 -d2s -s "$here/targets.lua" "$nginx_url" -- "$work/timed.txt" 1 >/dev/null
wrk -t1 -c4 -d2s -s "$here/targets.lua" "$shim_url" -- "$work/timed.txt" 1 >/dev/null
if [ "$only" = all ]; then curl -s -o /dev/null "$nginx_url/big.bin"; fi

# The rounds: each with links of its own; nginx goes first in odd rounds,
# origin-shim in even ones. What the last round wrote (origin-shim's WAL
# copies into its file) is synced before the next starts, as the set-up was.
for round in $(seq 1 "$rounds"); do
  [ "$round" = 1 ] || sync
  servers=("nginx $nginx_url" "origin-shim $shim_url")
  [ $((round % 2)) = 1 ] || servers=("origin-shim $shim_url" "nginx $nginx_url")
  for case_ in small_single_use small_time_only; do
    file="$work/single-$round.txt"
    [ "$case_" = small_single_use ] || file="$work/timed.txt"
    for entry in "${servers[@]}"; do
      run_wrk "$case_" "${entry% *}" "${entry##* }" "$file" "$threads" "$conns" "$duration" --latency
    done
  done
done
round=1
# Each case after the rounds starts, as each round does, with what the case
# before it wrote on disk, so that no case's commits wait behind another's
# writeback (docs/performance.md, "Issue 18, eighth session").
if [ -n "$tls_url" ]; then
  sync
  wrk -t1 -c4 -d2s -s "$here/targets.lua" "$tls_url" -- "$work/timed.txt" 1 >/dev/null
  run_wrk small_single_use "origin-shim, TLS" "$tls_url" "$work/tls-single.txt" "$threads" "$conns" "$duration" --latency
  run_wrk small_time_only "origin-shim, TLS" "$tls_url" "$work/timed.txt" "$threads" "$conns" "$duration" --latency
fi
if [ ${#pg_urls[@]} -gt 0 ]; then
  # And a pause: after the SQLite rounds' minutes of writes (370-400 MB/s),
  # this machine's disk answered PostgreSQL's commit flushes 100-250 ms late
  # well after a sync (p99 100-147 ms in four full runs; 12-17 ms
  # after 120 s of quiet): the PostgreSQL rows would measure the rounds'
  # writes, not PostgreSQL (docs/performance.md, "Issue 18, ninth session").
  sync
  if [ "$pg_settle" -gt 0 ]; then
    echo "bench: $pg_settle s of quiet before the PostgreSQL cases (BENCH_PG_SETTLE)" >&2
    sleep "$pg_settle"
  fi
  wrk -t1 -c4 -d2s -s "$here/targets.lua" "${pg_urls[0]}" -- "$work/timed.txt" 1 >/dev/null
  run_wrk small_single_use "origin-shim, PostgreSQL" "${pg_urls[0]}" "$work/pg-single.txt" "$threads" "$conns" "$duration" --latency
  # Two instances at once, half the connections each: one wrk per instance,
  # their results added (requests, bytes, failures) and the worse latency kept.
  sync
  echo "bench: small_single_use on two origin-shim instances on one PostgreSQL" >&2
  half=$(( conns / 2 > 0 ? conns / 2 : 1 ))
  wrk -t"$threads" -c"$half" -d"$duration" --latency -s "$here/targets.lua" "${pg_urls[0]}" -- "$work/pg-a.txt" "$threads" | grep '^{' | tail -n1 >"$work/pg-a.json" &
  wrk_a=$!
  wrk -t"$threads" -c"$half" -d"$duration" --latency -s "$here/targets.lua" "${pg_urls[1]}" -- "$work/pg-b.txt" "$threads" | grep '^{' | tail -n1 >"$work/pg-b.json"
  wait "$wrk_a"
  python3 - "$work/pg-a.json" "$work/pg-b.json" >>"$results" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
both = {k: a[k] + b[k] for k in a if k not in ("duration_us",) and not k.startswith("lat_")}
both["duration_us"] = max(a["duration_us"], b["duration_us"])
both.update({k: max(a[k], b[k]) for k in a if k.startswith("lat_")})
print(json.dumps({"case": "small_single_use", "server": "2 × origin-shim, one PostgreSQL", "wrk": both}))
EOF
fi
if [ "$only" = all ]; then
  run_wrk big_1gib nginx "$nginx_url" "$work/big.txt" 1 1 "$big_duration" --timeout 60s
  run_wrk big_1gib origin-shim "$shim_url" "$work/big.txt" 1 1 "$big_duration" --timeout 60s
fi

used=$(python3 - "$work/uses.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT COUNT(*), COALESCE(SUM(used), 0), COALESCE(MAX(used), 0) FROM records").fetchone())
EOF
) || used="(not readable)"

load_after=$(cut -d" " -f1-3 /proc/loadavg)
machine="$(nproc) cores, $(python3 -c 'import os; print(round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30))') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r)"
python3 - "$results" "$out_md" "$machine" "$(nginx -v 2>&1 | sed 's|.*/||')" "$duration" "$conns" "$threads" "$small_bytes" "$big_mib" "$tokens" "$used" "$big_duration" "$(date -u +%Y-%m-%dT%H:%MZ)" "$load_before" "$load_after" "$rounds" "$pg_settle" <<'EOF'
import json, statistics, sys
(results, out_md, machine, nginx_version, duration, conns, threads, small_bytes, big_mib, tokens, used, big_duration, when, load_before, load_after, rounds, pg_settle) = sys.argv[1:]
rows = [json.loads(l) for l in open(results) if l.strip()]
# (case, server) -> {round: wrk result}
runs = {}
for r in rows:
    runs.setdefault((r["case"], r["server"]), {})[r.get("round", 1)] = r["wrk"]

def rps(w): return w["requests"] / (w["duration_us"] / 1e6)
def mibps(w): return w["bytes"] / (w["duration_us"] / 1e6) / 2**20
def ms(us): return f"{us / 1000:.2f}"
def bad(w): return w["non2xx"] + w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
def median(xs): return statistics.median(xs) if xs else float("nan")

def summary(case, server):
    """The median of each figure over the rounds, the failures added up."""
    ws = list(runs[(case, server)].values())
    w = {k: median([x[k] for x in ws]) for k in ("lat_p50_us", "lat_p90_us", "lat_p99_us")}
    w.update(rate=median([rps(x) for x in ws]), mib=median([mibps(x) for x in ws]), bad=sum(bad(x) for x in ws), n=len(ws))
    return w

def ratios(case, server, figure):
    """`figure`(ours) / `figure`(nginx's) in each round both ran, else
    against nginx's median: (the median ratio, [(ratio, ours, nginx's)]
    for each round)."""
    ours, base = runs[(case, server)], runs.get((case, "nginx"), {})
    each = []
    for rnd, w in sorted(ours.items()):
        if rnd in base and len(ours) > 1:
            b = figure(base[rnd])
        elif base:
            b = median([figure(x) for x in base.values()])
        else:
            continue
        each.append((figure(w) / b, figure(w), b))
    return median([r for r, _, _ in each]), each

lines = []
out = lines.append
out("# origin-shim against nginx")
out("")
out(f"Measured by `bash bench/origin-shim/run.sh` (`npm run bench`) on {when}, one run, both servers on the same machine at once")
out(f"({machine}; the load generator shares the cores). nginx {nginx_version} serves the same directory statically")
out("(sendfile on, access log off); origin-shim is the release build of `origin-shim serve` with its SQLite store")
out("(WAL, synchronous=FULL: every counted use is on disk before the answer) and its default request logging to a file;")
out("where PostgreSQL 15 is installed, also one and two origin-shim instances on one local cluster the script starts")
out("(PostgreSQL's defaults: every commit synced). `origin-shim, TLS` is a second instance with its own SQLite store,")
out("serving HTTPS (`--tls-cert`, ECDSA P-256, TLS 1.3, HTTP/1.1: wrk has no HTTP/2) on keep-alive connections.")
out(f"wrk: {duration} per small-file case with {threads} thread(s) and {conns} connections; {big_duration} on one connection for the big file.")
out(f"nginx and origin-shim (SQLite, plain HTTP) ran the two small-file cases in {rounds} interleaved round(s), taking turns going first:")
out("their rows are the medians over the rounds, and their ratios the median of the rounds' ratios (each round's are listed")
out("below the table). The TLS, PostgreSQL and big-file rows ran once, after the rounds, against nginx's median;")
out(f"the PostgreSQL rows after {pg_settle} s of quiet (BENCH_PG_SETTLE: the disk's flushes ran late for a while after the rounds' writes).")
out(f"Small file: {small_bytes} bytes; big file: {big_mib} MiB. nginx receives the same request targets (it ignores the token).")
out("")
out("| case | server | rounds | requests/s | MiB/s | latency p50 ms | p90 ms | p99 ms | failed | ratio to nginx | p99 to nginx's |")
out("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
labels = {
    "small_single_use": "small file, fresh single-use link per request",
    "small_time_only": "small file, time-only link",
    "big_1gib": f"{big_mib} MiB file, one stream",
}
servers = ["nginx", "origin-shim", "origin-shim, TLS", "origin-shim, PostgreSQL", "2 × origin-shim, one PostgreSQL"]
each_round = []
for case in ["small_single_use", "small_time_only", "big_1gib"]:
    for server in servers:
        if (case, server) not in runs:
            continue
        w = summary(case, server)
        if server == "nginx":
            ratio_text, p99_text = "1.00 (baseline)", ""
        else:
            unit, figure = ("throughput", mibps) if case == "big_1gib" else ("requests/s", rps)
            ratio, each = ratios(case, server, figure)
            p99, each_p99 = ratios(case, server, lambda x: x["lat_p99_us"])
            # A big file's latency is one whole download: no p99 target there.
            ratio_text, p99_text = f"{ratio:.2f} ({unit})", "" if case == "big_1gib" else f"{p99:.2f}×"
            if len(each) > 1:
                each_round.append(f"- {labels[case]}, {server}: "
                                  + "; ".join(f"{r:.2f} ({o:,.0f} vs {b:,.0f} req/s), p99 {pr:.2f}× ({ms(po)} vs {ms(pb)} ms)"
                                              for (r, o, b), (pr, po, pb) in zip(each, each_p99)))
        lat = f"| {ms(w['lat_p50_us'])} | {ms(w['lat_p90_us'])} | {ms(w['lat_p99_us'])} "
        rate = f"{w['rate']:.0f}" if w["rate"] >= 10 else f"{w['rate']:.2f}"
        out(f"| {labels[case]} | {server} | {w['n']} | {rate} | {w['mib']:.1f} {lat}| {w['bad']} | {ratio_text} | {p99_text} |")
out("")
if each_round:
    out("Each round's ratio to nginx (origin-shim's figure vs nginx's), round 1 first:")
    out("")
    for line in each_round:
        out(line)
    out("")
out("`failed`: non-2xx answers plus socket errors and timeouts seen by wrk. For the single-use case every request")
out(f"carries a link of its own from {tokens} pre-minted ones per round (a non-2xx there would mean a link was sent twice);")
out(f"the store afterwards held (records, total uses, largest use count of one link) = {used}.")
out("Latency for the big-file case is the time for one whole download.")
out(f"Load average (1, 5, 15 min) before the measurements: {load_before}; after: {load_after}. Anything else running on")
out("the machine at the time (such as compilers) lowers both servers' numbers; the ratios, measured in the same run, are the result.")
out("")
out("## Reading the numbers")
out("")
out("- A single-use request is answered only after its use is in a SQLite transaction synced to disk (the crash")
out("  guarantee); the store's writer thread puts the uses that queue up during one sync into the next transaction, so")
out("  that case measures the disk's sync latency as much as HTTP. A time-only link never touches the store. nginx does")
out("  no per-request bookkeeping at all, so it is the ceiling, not a peer.")
out("- For the big file nginx uses sendfile (no copy through user space); origin-shim reads the file in 512 KiB chunks")
out("  (one trip to tokio's blocking pool each) and writes them to the socket, with flat memory (see")
out("  origin-shim/tests/large_file.rs). hyper owns the socket and takes the body as buffers, so sendfile would mean")
out("  serving plain-HTTP file answers outside hyper (docs/performance.md, issue 18).")
out("- The SQLite store copies its WAL into the file on a thread of its own, and the WAL starts over every 64 MiB")
out("  with no copy inside a commit; before, SQLite's automatic checkpoint ran inside the commit that crossed its mark")
out("  and every queued use waited for it (the single-use tail, issue 18).")
out("- TLS: wrk keeps its connections open, so a handshake is paid once per connection and the TLS rows measure")
out("  record encryption on top of the same work; on a loaded 2-core machine they land within noise of plain HTTP.")
out("  Clients that open one connection per download also pay one ECDSA handshake each.")
out("- The rounds are interleaved because the machine's speed moves: across one session's runs nginx served 58,000 to 87,000 requests/s")
out("  and its p99 moved from 1.2 to 4.3 ms between runs (issue 18). A ratio is a median of rounds; the rows that ran once")
out("  (TLS, PostgreSQL, the big file) are a single measurement: treat differences of a few tens of percent there as noise.")
out("")
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
if out_md:
    with open(out_md, "w") as f:
        f.write(text)
EOF
[ -z "$out_md" ] || echo "bench: wrote $out_md" >&2
