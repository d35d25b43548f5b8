#!/usr/bin/env bash
# Regenerates generated/ from the pinned xds-protos descriptors (see proto/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
XDS_PROTOS_VERSION="1.85.0"
if ! .tools/venv/bin/pip show xds-protos 2>/dev/null | grep -q "^Version: ${XDS_PROTOS_VERSION}$"; then
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "xds-protos==${XDS_PROTOS_VERSION}"
fi
rm -rf generated
mkdir -p generated
.tools/venv/bin/python scripts/gen_protos.py
npx --no-install prettier --log-level warn --write "generated/schema.ts" >/dev/null
