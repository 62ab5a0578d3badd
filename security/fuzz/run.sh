#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer's coverage instrumentation on the
# STABLE toolchain and runs each for SECONDS_PER_TARGET (default 60).
#
#   security/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Prints executions per second per target. Exits non-zero on a crash (a
# panic, a failed invariant, a timeout or running out of memory) and leaves
# the input in security/fuzz/artifacts/<target>/ (replay it with
# `target/<triple>/release/<target> FILE`); the run's log is
# security/fuzz/artifacts/<target>.log. The corpus grows in
# security/fuzz/corpus/<target>/ (seeded from the vectors by seeds.py).
# The build has its own target directory (security/fuzz/target), so it
# never invalidates the main build.
set -uo pipefail
cd "$(dirname "$0")"

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(token claims boundary path range form cidr dynamodb decide strip)

# libFuzzer's instrumentation without -Zsanitizer (nightly only): sancov's
# 8-bit counters, PC table and compare tracing, as cargo-fuzz's `-s none`
# passes them. Debug assertions and overflow checks are on.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
unset CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_DIR="$PWD/target"
triple=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps RUSTFLAGS off build scripts and proc macros.
if ! cargo build --quiet --locked --release --target "$triple" --bins; then
  echo "fuzz: build failed" >&2
  exit 2
fi

if ! python3 seeds.py corpus; then
  echo "fuzz: seeds.py failed (a vector it cannot read): fix it, the corpus would be partial" >&2
  exit 2
fi
mkdir -p artifacts
failed=()
total=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t.log"
  "target/$triple/release/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" "corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  total=$((total + ${execs:-0}))
  printf 'fuzz: %-9s %10s execs %7s execs/s  %-10s corpus %s files\n' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$(ls "corpus/$t" | wc -l)"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); input(s): $(ls -d "artifacts/$t"/* 2>/dev/null | tr '\n' ' ')" >&2
    grep -m1 -A6 -E 'panicked|ERROR: libFuzzer' "$log" >&2
  fi
done
echo "fuzz: $total executions in all, ${secs}s per target"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
