# Sourced by run.sh and ab.sh: the nginx baseline, configured the same way for
# both, and origin-shim started and waited for. The caller defines `work` (its
# scratch directory), `pids` (an array: every process started here is added,
# for the caller's cleanup) and `die MESSAGE`.

# stop_started: stops every process in `pids` and waits for each (the
# callers' EXIT trap, before it removes `work`).
stop_started() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL: wait up to 20 s for any HTTP answer
  local i
  for i in $(seq 1 200); do
    if python3 - "$1" <<'EOF' 2>/dev/null; then return 0; fi
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
EOF
    sleep 0.1
  done
  die "nothing answers at $1"
}

# start_nginx ROOT: nginx serving ROOT statically on a free 127.0.0.1 port
# (sendfile on, access log off: its fastest static setup); sets nginx_url.
start_nginx() {
  local root=$1 port
  port=$(free_port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
user root;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        root $root;
        location / { }
    }
}
EOF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  pids+=($!)
  nginx_url="http://127.0.0.1:$port"
  wait_http "$nginx_url/"
}

# launch_shim BINARY OUT LOG ARGS...: `BINARY serve ARGS --listen
# 127.0.0.1:0`, stdout to OUT and stderr to LOG; waits up to 20 s for its
# listening line and sets started_url (http:// or https://).
launch_shim() {
  local bin=$1 out=$2 log=$3 url=""
  shift 3
  "$bin" serve "$@" --listen 127.0.0.1:0 >"$out" 2>"$log" &
  pids+=($!)
  for _ in $(seq 1 200); do
    url=$(sed -n 's|^listening on \(https\{0,1\}://[0-9.:]*\)$|\1|p' "$out" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || die "$bin serve $* did not start; log: $(tail -n 20 "$log")"
  started_url=$url
}

# start_postgres: a PostgreSQL 15 cluster of its own on a free 127.0.0.1
# port (PostgreSQL's defaults: every commit synced), with a database
# `oncelink`; sets pg_store (the --store URL) and pg_dir. The caller stops
# it with stop_postgres (from its EXIT trap), which keeps the cluster's log
# at BENCH_PG_LOG when that is set; BENCH_PG_OPTS adds server options
# (`-c name=value ...`). Returns 1, having started
# nothing, when PostgreSQL 15 is not installed (apt-get install -y postgresql).
pg_bin=/usr/lib/postgresql/15/bin
start_postgres() {
  [ -x "$pg_bin/initdb" ] || return 1
  pg_dir=$(mktemp -d /tmp/oncelink-bench-pg.XXXXXX)
  chmod 755 "$pg_dir"
  chown postgres "$pg_dir"
  local port
  port=$(free_port)
  echo "bench: starting PostgreSQL 15 on 127.0.0.1:$port" >&2
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >"$pg_dir/initdb.log" 2>&1
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 ${BENCH_PG_OPTS:-}" start >/dev/null
  runuser -u postgres -- "$pg_bin/createdb" -h 127.0.0.1 -p "$port" oncelink
  pg_store="postgres://postgres@127.0.0.1:$port/oncelink"
}

stop_postgres() {
  [ -n "${pg_dir:-}" ] || return 0
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  [ -z "${BENCH_PG_LOG:-}" ] || cp "$pg_dir/server.log" "$BENCH_PG_LOG"
  rm -rf "$pg_dir"
}
