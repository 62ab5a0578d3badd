#!/usr/bin/env bash
# Offline checks of origin-shim's packaging (npm test's deploy-lint step):
# hadolint on the Dockerfile, and `systemd-analyze verify` on the unit when
# systemd-analyze is installed (the unit's ExecStart pointed at a built
# binary: verify wants it to exist). The image itself is not built here (no
# container engine): its build is unverified until someone runs
# `docker build -f origin-shim/deploy/Dockerfile .`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/oncelink/hadolint-venv"
stamp="$(sha256sum "$here/requirements-lint.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/hadolint" || "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  echo "deploy-lint: installing hadolint into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements-lint.txt"
  echo "$stamp" >"$venv/.stamp"
fi
"$venv/bin/hadolint" "$here/Dockerfile"
echo "deploy-lint: hadolint: Dockerfile clean"

if command -v systemd-analyze >/dev/null; then
  bin="${CARGO_TARGET_DIR:-$root/target}/debug/origin-shim"
  [[ -x "$bin" ]] || (cd "$root" && cargo build -q -p origin-shim)
  unit="$(mktemp -d)/origin-shim.service"
  trap 'rm -rf "$(dirname "$unit")"' EXIT
  sed "s|/usr/local/bin/origin-shim|$bin|" "$here/origin-shim.service" >"$unit"
  systemd-analyze verify "$unit"
  echo "deploy-lint: systemd-analyze verify: unit clean"
else
  echo "deploy-lint: systemd-analyze not installed: unit not verified"
fi
