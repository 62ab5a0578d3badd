#!/usr/bin/env bash
# Offline checks of the deployment (infra/, scripts/deploy.mjs), one command:
#
#   bash infra/tests/run.sh
#
# cfn-lint and checkov on the CloudFormation templates, checkov on the Terraform
# module and the GitHub Actions template, terraform fmt when terraform is on PATH,
# the pytest suite (template wiring, Terraform parity, deploy script), and
# `npm run deploy -- --dry-run` on a sample key file in each edge mode (lambda,
# function-only, prefilter; cfn-lint on the templates with the CloudFront
# Function inlined), and `npm run smoke:aws -- --help` and `--dry-run`. Each
# step is timed.
#
# Tools go into two virtualenvs under $ONCELINK_INFRA_VENVS (default
# ~/.cache/oncelink-infra), created on first use from the pinned requirements
# files and reused while those files are unchanged. checkov has a venv of its
# own: it ships a fork of python-hcl2 that installs as the same `hcl2` module.
# Needs: python3 (with venv), node, and edge/pkg (built here if missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venvs="${ONCELINK_INFRA_VENVS:-$HOME/.cache/oncelink-infra}"
passed=0
failed=0
failures=()
timings=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# venv NAME REQUIREMENTS: creates or refreshes $venvs/NAME from a requirements file.
venv() {
  local dir="$venvs/$1" req="$2" stamp
  stamp="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ ! -x "$dir/bin/python" || "$(cat "$dir/.stamp" 2>/dev/null)" != "$stamp" ]]; then
    echo "infra: installing $req into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$stamp" > "$dir/.stamp"
  fi
}

# step NAME COMMAND...: runs one check, records pass/fail and its time.
step() {
  local name="$1" start rc
  shift
  echo
  echo "=== $name"
  start="$(now)"
  set +e
  "$@"
  rc=$?
  set -e
  local t
  t="$(elapsed "$start")"
  timings+=("$(printf '%-34s %6ss  %s' "$name" "$t" "$([[ $rc == 0 ]] && echo ok || echo FAILED)")")
  if [[ $rc == 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

setup_start="$(now)"
venv tests infra/tests/requirements.txt
venv checkov infra/tests/requirements-checkov.txt
if [[ ! -f edge/pkg/oncelink_edge_wasm_bg.wasm ]]; then
  echo "infra: edge/pkg is missing; building it (scripts/build-wasm.sh) for the deploy dry run"
  bash scripts/build-wasm.sh
fi
timings+=("$(printf '%-34s %6ss' "setup (venvs, wasm if missing)" "$(elapsed "$setup_start")")")

tests_py="$venvs/tests/bin/python"
checkov="$venvs/checkov/bin/checkov"
# --skip-download: checkov would otherwise try to reach its vendor's API.
checkov_flags=(--compact --quiet --skip-download)

step "cfn-lint" "$venvs/tests/bin/cfn-lint" infra/cloudformation/*.yaml
step "checkov cloudformation" "$checkov" -d infra/cloudformation --framework cloudformation "${checkov_flags[@]}"
step "checkov terraform" "$checkov" -d infra/terraform --framework terraform "${checkov_flags[@]}"

# checkov finds workflows only under .github/workflows: scan a copy there.
gha_dir="$(mktemp -d)"
trap 'rm -rf "$gha_dir"' EXIT
mkdir -p "$gha_dir/.github/workflows"
cp infra/ci/deploy.yml "$gha_dir/.github/workflows/deploy.yml"
step "checkov github actions" "$checkov" -d "$gha_dir" --framework github_actions "${checkov_flags[@]}"

if command -v terraform >/dev/null 2>&1; then
  step "terraform fmt -check" terraform fmt -check -recursive infra/terraform
else
  echo
  echo "=== terraform fmt -check: skipped (terraform is not on PATH; the module is still parsed by the pytest suite)"
fi

step "pytest infra/tests" "$tests_py" -m pytest -q -p no:cacheprovider infra/tests

sample_keys="$gha_dir/sample-keys.json"
node -e 'const c=require("crypto");process.stdout.write(JSON.stringify({active:"k1",keys:[{kid:"k1",secret:c.randomBytes(32).toString("base64url")}]}))' > "$sample_keys"
step "npm run deploy -- --dry-run" npm run --silent deploy -- --stack oncelink-sample --keys "$sample_keys" --home-region eu-west-1 --extra-regions us-west-2 --dry-run
step "smoke test of the sample bundle" node infra/ci/smoke-bundle.mjs dist/deploy/oncelink-sample/lambda-edge.zip --keys "$sample_keys"
step "deploy --edge-mode function-only --dry-run" npm run --silent deploy -- --stack oncelink-sample-fo --keys "$sample_keys" --edge-mode function-only --dry-run
step "deploy --edge-mode prefilter --dry-run" npm run --silent deploy -- --stack oncelink-sample-pf --keys "$sample_keys" --home-region eu-west-1 --edge-mode prefilter --dry-run
step "npm run smoke:aws -- --help" npm run --silent smoke:aws -- --help
step "npm run smoke:aws -- --dry-run" npm run --silent smoke:aws -- --stack oncelink-sample --dry-run --ttfb
step "cfn-lint (function inlined)" "$venvs/tests/bin/cfn-lint" dist/deploy/oncelink-sample-fo/oncelink.yaml dist/deploy/oncelink-sample-pf/oncelink.yaml

echo
echo "=== timings"
printf '%s\n' "${timings[@]}"
if ((failed > 0)); then
  echo "failed: ${failures[*]}"
fi
echo "infra: $passed passed, $failed failed"
((failed == 0))
