#!/usr/bin/env bash
# Runs every test of the project, after installing what they need
# (scripts/setup.sh). This is the README's test command (`npm test`) and what
# CI runs (.ci/run). Every step runs even when an earlier one failed; the last
# line counts them, and the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "test-all: setup failed" >&2; exit 1; }

# What git sees before any test runs: a test that writes into the tree (a
# stray output folder, a regenerated file) shows up as a difference at the end.
tree_before=$(git status --porcelain --untracked-files=all 2>/dev/null)

passed=0
failed=()
step() {
  local name=$1
  shift
  printf '\n=== %s: %s\n' "$name" "$*"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - start))
  else
    failed+=("$name")
    printf '=== %s: FAILED (%ss)\n' "$name" $((SECONDS - start))
  fi
}

step vectors-independent python3 scripts/check_vectors.py
step cargo-test cargo test --workspace --locked --no-fail-fast
step sigv4-botocore python3 scripts/sigv4_crosscheck.py
step wasm-node wasm-pack test --node wasm-tests --test node
step wasm-chromium wasm-pack test --headless --chrome wasm-tests --test browser
# Builds edge/pkg, which the Lambda@Edge and CloudFront Function tests load.
step wasm-size node scripts/size.mjs --check
# The edge's Node tests mint with the npm package's wasm (the Lambda's own
# module cannot mint: edge/wasm/Cargo.toml), built afresh here.
step lambda-edge bash -c 'bash sdk/js/scripts/build-wasm.sh && npm run -s test:edge'
# The AWS events path: the bundle's event writes, moto's stream, the events
# Lambda, a Python receiver checking every signature, and `oncelink audit` reading
# the trail (docs/events.md, "On AWS").
step events bash -c 'cargo build -q -p oncelink && npm run -s test:events'
# Page mode in real headless Chromium (Playwright), on origin-shim and on the
# Lambda@Edge emulator; needs the debug binaries the cargo-test step built.
step browser bash -c 'cargo build -q -p origin-shim -p oncelink && npm run -s test:browser'
# The standing attack suite (security/attacks): every attack class found so
# far, against the real binaries the cargo-test step built.
step attacks bash -c 'cargo build -q -p origin-shim -p oncelink && npm run -s test:attacks'
step cloudfront-function npm run -s test:cff
# The SDKs: the shared option vectors are what the independent minter writes,
# then each package is built, installed as a user would and tested there.
step sdk-vectors python3 sdk/vectors/generate.py
step sdk-js npm run -s test:sdk-js
step sdk-python npm run -s test:sdk-python
step infra bash infra/tests/run.sh
# origin-shim's packaging: hadolint on the Dockerfile, systemd-analyze verify
# on the unit (the image itself is not built: no container engine here).
step deploy-lint bash origin-shim/deploy/check.sh
# Every fuzz target, bounded (security/README.md): 15 s each after the build
# (its own target directory); a crash fails the step and leaves its input in
# security/fuzz/artifacts/.
step fuzz bash security/fuzz/run.sh 15
# The README's "run the product" command, run as a user would (release build).
step demo bash scripts/test-demo.sh
# Tests write only into ignored folders (target/, /tmp): anything new or
# changed in the tree is a test writing where it should not (seeds.py once
# wrote 229 files into ./--help/, which were committed).
tree_clean() {
  local after
  after=$(git status --porcelain --untracked-files=all 2>/dev/null)
  [ "$after" = "$tree_before" ] && return 0
  echo "test-all: the tests changed the working tree:" >&2
  diff <(printf '%s\n' "$tree_before") <(printf '%s\n' "$after") >&2
  return 1
}
step tree-clean tree_clean

printf '\n'
if [ ${#failed[@]} -gt 0 ]; then
  printf 'test-all: failed steps: %s\n' "${failed[*]}"
fi
printf 'test-all: %d passed, %d failed\n' "$passed" "${#failed[@]}"
[ ${#failed[@]} -eq 0 ]
